import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { applianceWithListener, cleanup, useChainCertificate } from '../helpers.js';
import { opensslChain } from '../pki-fixtures.js';
import { tool } from '../system-tools.js';

const run = promisify(execFile);
let home: string;
let port: number;
const chain = opensslChain();

before(async () => {
  ({ home, port } = await applianceWithListener());
  await writeFile(path.join(chain.dir, 'root-only.pem'), chain.root);
  await useChainCertificate(home, chain, 'listenerconfig edit InboundMail hostaccess default --tls required');
});
after(() => cleanup(home));

const sClient = (extra: string[]) =>
  new Promise<string>((resolve) => {
    const child = spawn(tool('openssl'), ['s_client', '-starttls', 'smtp', '-connect', `127.0.0.1:${port}`, '-servername', 'mx.test.example', '-CAfile', path.join(chain.dir, 'root-only.pem'), '-verify_return_error', '-showcerts', ...extra]);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', () => resolve(out));
    child.stdin.end('QUIT\r\n');
  });

test('openssl s_client -starttls smtp verifies the chain we present (leaf + intermediate to the root)', async () => {
  const out = await sClient([]);
  assert.match(out, /Verify return code: 0 \(ok\)/, out);
  assert.match(out, / 0 s:CN ?= ?mx\.test\.example/);
  assert.match(out, / 1 s:CN ?= ?Test Intermediate CA/);
  assert.match(out, /New, TLSv1\.3|Protocol *: TLSv1\.3/);
});

test('TLS 1.2 is the floor: a TLS 1.1 client is refused, TLS 1.2 works', async () => {
  const old = await sClient(['-tls1_1']);
  assert.match(old, /alert protocol version|no protocols available|unsupported protocol/i, old);
  assert.match(old, /Cipher is \(NONE\)/, 'no session was established');
  const v12 = await sClient(['-tls1_2']);
  assert.match(v12, /Verify return code: 0 \(ok\)/, v12);
  assert.match(v12, /Protocol *: TLSv1\.2/);
});

const swaks = (...args: string[]) =>
  run(tool('swaks'), ['--server', '127.0.0.1', '--port', String(port), '--from', 'peer@example.org', '--to', 'user@example.com', '--helo', 'peer.example.org', ...args], { timeout: 30_000 }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );

test('swaks: without STARTTLS MAIL is refused with 530; with --tls the message is accepted', async () => {
  const plain = await swaks();
  assert.notEqual(plain.code, 0);
  assert.match(plain.out, /<\*\* +530 5\.7\.0 Must issue a STARTTLS command first/);
  const secure = await swaks('--tls', '--tls-verify', '--tls-ca-path', path.join(chain.dir, 'root-only.pem'), '--tls-sni', 'mx.test.example');
  assert.equal(secure.code, 0, secure.out);
  assert.match(secure.out, /TLS started with cipher TLSv1\.[23]/);
  assert.match(secure.out, /<~ +250 Ok: Message MID \d+ accepted/);
});
