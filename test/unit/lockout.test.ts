import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lockOutProblems } from '../../src/engine/lockout.js';
import { addInterface } from '../../src/store/network/interfaces.js';
import { type Config, defaultConfig } from '../../src/store/schema.js';

const base = (): Config => {
  const c = addInterface(defaultConfig(), { name: 'Public', ip: '127.0.0.21' });
  c.interfaces = c.interfaces.map((i) => (i.name === 'Public' ? { ...i, ssh: { port: 2222 }, https: { port: 8443, httpRedirect: null, certificate: null } } : i)) as Config['interfaces'];
  c.users = [{ name: 'admin' } as Config['users'][number]];
  return c;
};
const ssh = { service: 'SSH' as const, ip: '127.0.0.21', port: 2222, account: 'admin' };
const edit = (change: (c: Config) => void) => {
  const c = structuredClone(base());
  change(c);
  return lockOutProblems(ssh, base(), c);
};
const pub = (c: Config) => c.interfaces.find((i) => i.name === 'Public')!;

test('what would keep a remote session from coming back is named; everything else is not', () => {
  assert.deepEqual(edit(() => undefined), []);
  assert.deepEqual(edit((c) => (pub(c).https = undefined as never)), [], 'HTTPS off does not concern an SSH session');
  assert.deepEqual(edit((c) => (pub(c).ssh = { port: 2200 } as never)), ['it moves SSH on interface Public from port 2222 to 2200, which this session uses']);
  assert.deepEqual(edit((c) => (pub(c).ssh = undefined as never)), ['it turns SSH off on interface Public, which this session uses (SSH on 127.0.0.21 port 2222)']);
  assert.deepEqual(edit((c) => (pub(c).ip = '127.0.0.22')), ['it moves interface Public from 127.0.0.21 to 127.0.0.22, where this session came in (SSH on 127.0.0.21 port 2222)']);
  assert.deepEqual(edit((c) => (c.interfaces = c.interfaces.filter((i) => i.name !== 'Public'))), ['it deletes interface Public, where this session came in (SSH on 127.0.0.21 port 2222)']);
  assert.deepEqual(edit((c) => (c.users = [])), ['it deletes the account admin this session uses']);
  // Another interface taking over the address and port is a way back.
  assert.deepEqual(edit((c) => (c.interfaces = c.interfaces.map((i) => (i.name === 'Public' ? { ...i, name: 'Renamed' } : i)))), []);
});
