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

test('an SSH session that logged in with a key is warned when the key goes; one that used a password when password logins go', async () => {
  const { generateKeyPairSync } = await import('node:crypto');
  const { parseAuthorizedKey } = await import('../../src/pki/sshKeys.js');
  // An ssh-ed25519 public key line: the wire strings "ssh-ed25519" and the 32-byte key.
  const wire = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  const line = (comment: string) => {
    const raw = Buffer.from(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!, 'base64url');
    return `ssh-ed25519 ${Buffer.concat([wire(Buffer.from('ssh-ed25519')), wire(raw)]).toString('base64')} ${comment}`;
  };
  const [mine, other] = [line('mine'), line('other')];
  const withKeys = (keys: string[]) => {
    const c = base();
    c.users = [{ name: 'admin', role: 'administrator', passwordHash: 'x', sshKeys: keys }] as Config['users'];
    return c;
  };
  const fingerprint = parseAuthorizedKey(mine).fingerprint;
  const byKey = { ...ssh, key: fingerprint };
  assert.deepEqual(lockOutProblems(byKey, withKeys([mine, other]), withKeys([other])), [`it deletes the SSH key ${fingerprint} this session logged in with`]);
  assert.deepEqual(lockOutProblems(byKey, withKeys([mine, other]), withKeys([mine])), [], 'another key of the account may go');
  const noPasswords = withKeys([mine]);
  noPasswords.ssh = { ...noPasswords.ssh, passwordAuth: false };
  assert.deepEqual(lockOutProblems(ssh, withKeys([mine]), noPasswords), ['it turns SSH password logins off, and this session logged in with a password']);
  assert.deepEqual(lockOutProblems(byKey, withKeys([mine]), noPasswords), [], 'a key login does not need passwords');
});
