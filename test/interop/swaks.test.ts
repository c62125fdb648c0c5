import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { applianceWithListener, cleanup, mxgate, queuedMessage } from '../helpers.js';
import { tool } from '../system-tools.js';

const run = promisify(execFile);
let home: string;
let port: number;

before(async () => {
  ({ home, port } = await applianceWithListener());
});
after(() => cleanup(home));

const swaks = (...args: string[]) =>
  run(tool('swaks'), ['--server', '127.0.0.1', '--port', String(port), '--from', 'peer@example.org', '--to', 'user@example.com', '--helo', 'peer.example.org', ...args], {
    timeout: 30_000,
  }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );

test('swaks delivers a message to a committed listener; it is queued under the MID of the reply', async () => {
  const r = await swaks('--header', 'Subject: from swaks');
  assert.equal(r.code, 0, r.out);
  const mid = /<- +250 Ok: Message MID (\d+) accepted/.exec(r.out)?.[1];
  assert.ok(mid, r.out);
  const queued = (await queuedMessage(home, mid)).message;
  assert.match(queued, /Subject: from swaks/);
  assert.match(queued, /^Received: from peer\.example\.org/);
});

test('swaks --tls fails: STARTTLS is not available on a listener without TLS', async () => {
  const r = await swaks('--tls');
  assert.notEqual(r.code, 0);
  assert.doesNotMatch(r.out, /250[- ]STARTTLS/);
  assert.match(r.out, /-> QUIT/, 'swaks gives up before sending mail in clear');
  assert.doesNotMatch(r.out, /MAIL FROM/);
});

test('a message over the size limit gets 552 and is not queued', async () => {
  const big = path.join(home, 'big-body.txt');
  await writeFile(big, ('x'.repeat(998) + '\r\n').repeat(11 * 1024));
  const before = (await mxgate(home, ['-c', 'status'])).stdout;
  const r = await swaks('--body', big, '--suppress-data');
  assert.notEqual(r.code, 0);
  assert.match(r.out, /552 /);
  const after = (await mxgate(home, ['-c', 'status'])).stdout;
  assert.equal(/Queue: +(\d+)/.exec(after)?.[1], /Queue: +(\d+)/.exec(before)?.[1]);
});
