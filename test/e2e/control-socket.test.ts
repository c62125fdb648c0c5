import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { request } from '../../src/control/client.js';
import { cleanup, mxgate, tempHome } from '../helpers.js';

let home: string;
let socket: string;
before(async () => {
  home = await tempHome();
  socket = path.join(home, 'run', 'control.sock');
  const run = await mxgate(home, ['engine', 'start']);
  assert.equal(run.code, 0, run.stdout + run.stderr);
});
after(() => cleanup(home));

/** Send raw bytes, collect reply lines until `count` arrived or the socket closed. */
function raw(payload: string, count: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(socket);
    let data = '';
    const done = () => resolve(data.split('\n').filter(Boolean));
    s.on('connect', () => s.write(payload));
    s.on('data', (d) => {
      data += d.toString();
      if (data.split('\n').filter(Boolean).length >= count) {
        s.end();
        done();
      }
    });
    s.on('close', done);
    s.on('error', reject);
  });
}

test('the control socket and its directory are owner-only', async () => {
  assert.equal((await stat(socket)).mode & 0o777, 0o600);
  assert.equal((await stat(path.dirname(socket))).mode & 0o777, 0o700);
  assert.equal((await stat(home)).mode & 0o077, 0, 'data directory is closed to others');
});

test('malformed requests get error replies and never crash the engine', async () => {
  const replies = (await raw('not json\n[1,2]\n{"id":3}\n{"id":4,"op":"format-disk"}\n{"id":5,"op":"version","version":"x"}\n', 5)).map((l) => JSON.parse(l));
  const byCode = replies.map((r) => [r.id ?? null, r.ok, r.error?.code]);
  assert.deepEqual(
    byCode.sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    [
      [3, false, 'bad-request'],
      [4, false, 'unknown-op'],
      [5, false, 'bad-request'],
      [null, false, 'bad-request'],
      [null, false, 'bad-request'],
    ],
  );
  assert.equal((await request(socket, 'ping')).pong, true);
});

test('every operation\'s parameters are checked against its schema before anything runs', async () => {
  const lines = [
    '{"id":1,"op":"version","version":"x"}',
    '{"id":2,"op":"ping","extra":true}',
    '{"id":3,"op":"commit","baseVersion":1}',
    '{"id":4,"op":"tlsverify","domain":""}',
    '{"id":5,"op":"bounce"}',
    '{"id":6,"op":"deliverynow","domain":42}',
    '{"id":7,"op":"toString"}',
    '{"id":8,"op":"version","version":1}',
  ];
  const replies = new Map((await raw(lines.join('\n') + '\n', lines.length)).map((l) => JSON.parse(l)).map((r) => [r.id, r]));
  const error = (id: number) => `${replies.get(id).error?.code}: ${replies.get(id).error?.message}`;
  assert.match(error(1), /^bad-request: version: version: /);
  assert.match(error(2), /^bad-request: ping: .*extra/);
  assert.match(error(3), /^bad-request: commit: .*(config|comment|user)/);
  assert.match(error(4), /^bad-request: tlsverify: domain: /);
  assert.match(error(5), /^bad-request: bounce: bounce needs mid, domain, sender or all/);
  assert.match(error(6), /^bad-request: deliverynow: domain: /);
  assert.match(error(7), /^unknown-op: unknown operation "toString"/, 'no inherited property is an operation');
  assert.equal(replies.get(8).ok, true);
});

test('a commit with an invalid document or no base is refused with the reasons', async () => {
  const head = await request(socket, 'config');
  await assert.rejects(
    request(socket, 'commit', { baseVersion: head.version, config: { listeners: [{ name: 'x', port: -1 }] } as never, comment: '', user: 't' }),
    (err: Error & { code?: string }) => err.code === 'invalid' && /listener x: port must be 1-65535/.test(err.message) && /listener x: type must be one of public, private/.test(err.message) && /listener x: interface must be a string/.test(err.message),
  );
  await assert.rejects(
    request(socket, 'commit', { baseVersion: -1, config: head.config, comment: '', user: 't' }),
    (err: Error & { code?: string }) => err.code === 'stale',
  );
  assert.equal((await request(socket, 'config')).version, head.version);
});

test('a request written in small pieces, characters split between them, is answered; a line past 16 MB is refused', async () => {
  const bytes = Buffer.from('{"id":7,"op":"tlsverify","domain":"é.example"}\n');
  const reply = await new Promise<string>((resolve, reject) => {
    const s = net.createConnection(socket, async () => {
      for (let i = 0; i < bytes.length; i += 1) {
        s.write(bytes.subarray(i, i + 1));
        await new Promise((r) => setImmediate(r));
      }
    });
    let data = '';
    s.on('data', (d) => {
      data += d.toString();
      if (data.includes('\n')) {
        s.end();
        resolve(data);
      }
    });
    s.on('error', reject);
  });
  const answer = JSON.parse(reply);
  assert.equal(answer.id, 7);
  assert.match(answer.result.lines[0], /^TLS setting for é\.example:/, 'the line was put together whole, its characters too');
  const [tooLarge] = await raw(`{"id":8,"op":"ping","pad":"${'x'.repeat(16 * 1024 * 1024 + 10)}`, 1);
  assert.deepEqual(JSON.parse(tooLarge!), { ok: false, error: { code: 'bad-request', message: 'request too large' } });
  assert.equal((await request(socket, 'ping')).pong, true);
});

test('a client that disconnects mid-request does no harm', async () => {
  await new Promise<void>((resolve) => {
    const s = net.createConnection(socket, () => {
      s.write('{"id":1,"op":"sta');
      s.destroy();
      resolve();
    });
  });
  assert.equal((await request(socket, 'status')).configVersion >= 1, true);
});
