import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { applianceWithListener, cleanup, shellOk, submitMail, until as untilIn, isQueued } from '../helpers.js';
import { opensslChain } from '../pki-fixtures.js';
import { smtpSink } from '../sink.js';
import { tool } from '../system-tools.js';

/** Forward secrecy by default, judged by openssl s_client (inbound) and a TLS 1.2 peer with one old suite (outbound). */
let home: string;
let port: number;
const chain = opensslChain();
const shell = (...lines: string[]) => shellOk(home, ...lines);

function sClient(cipher: string): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(tool('openssl'), ['s_client', '-starttls', 'smtp', '-connect', `127.0.0.1:${port}`, '-tls1_2', '-cipher', cipher], { stdio: ['pipe', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    child.on('close', () => resolve(text));
    setTimeout(() => child.stdin.end('QUIT\r\n'), 500);
  });
}
const negotiated = (out: string) => /Cipher is (\S+)/.exec(out)?.[1];

before(async () => {
  ({ home, port } = await applianceWithListener());
  await shell('listenerconfig edit InboundMail hostaccess default --tls preferred', 'commit "STARTTLS offered"');
});
after(() => cleanup(home));

test('inbound: openssl gets ECDHE; non-forward-secret TLS 1.2 suites are refused until the administrator widens the list', async () => {
  assert.equal(negotiated(await sClient('ECDHE-RSA-AES128-GCM-SHA256')), 'ECDHE-RSA-AES128-GCM-SHA256');
  for (const old of ['AES128-SHA', 'AES256-GCM-SHA384']) {
    const out = await sClient(old);
    assert.ok(!negotiated(out) || negotiated(out) === '(NONE)', `${old} must not be negotiated:\n${out}`);
  }
  assert.match(await shell('sslconfig'), /Inbound ciphers: TLS_AES_256_GCM_SHA384:.*\(default: forward secrecy only\)/);
  await shell('sslconfig inbound --ciphers ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA', 'commit "old clients"');
  assert.equal(negotiated(await sClient('AES128-SHA')), 'AES128-SHA', 'widened on commit, without a restart');
  await shell('sslconfig inbound --ciphers default', 'commit "back to the default"');
  assert.ok(!negotiated(await sClient('AES128-SHA')) || negotiated(await sClient('AES128-SHA')) === '(NONE)');
});

test('outbound: a peer that only speaks an old suite gets nothing (Required) until the outbound list is widened', async () => {
  const leaf = chain.issueWithKey('mx.old.test', ['mx.old.test']);
  const sink = await smtpSink({ tls: { key: leaf.key, cert: leaf.cert + chain.intermediate, ciphers: 'AES128-SHA', maxVersion: 'TLSv1.2' } as never });
  try {
    await shell('listenerconfig edit InboundMail rcptaccess add .test', `smtproutes new old.test 127.0.0.1:${sink.port}`, 'destconfig new old.test --tls required', 'commit "old peer"');
    const mid = await submitMail(port, 'user@old.test', 'to an old peer');
    await untilIn(home, 'a deferral', async () => (await isQueued(home, mid)) && sink.received.length === 0 && (await shellOk(home, 'showrecipients')).includes('handshake failed'));
    await shell("sslconfig outbound --ciphers 'ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA'", 'commit "widen outbound"', 'deliverynow old.test');
    const got = await untilIn(home, 'delivery', () => sink.received.find((m) => m.data.includes('Subject: to an old peer')));
    assert.equal(got.secure, true);
  } finally {
    await sink.close();
  }
});

test('sslconfig refuses a cipher list OpenSSL does not know, with one line', async () => {
  const { mxgate } = await import('../helpers.js');
  const r = await mxgate(home, ['-c', 'sslconfig inbound --ciphers NOT-A-CIPHER']);
  assert.equal(r.code, 1);
  assert.match(r.stdout + r.stderr, /is not a cipher list OpenSSL accepts/);
  assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /);
});
