import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import nodemailer from 'nodemailer';
import { applianceWithListener, cleanup, shellOk, submitMail, until as untilIn } from '../helpers.js';
import { opensslChain } from '../pki-fixtures.js';
import { type Postfix, startPostfix } from '../postfix.js';

/** Postfix 3.7 as the receiving MTA: what mxgate's delivery looks like to a real peer. */

let home: string;
let port: number;
let tlsPeer: Postfix;
let plainPeer: Postfix;
const chain = opensslChain();
const shell = (...lines: string[]) => shellOk(home, ...lines);
const mailLog = () => readFile(path.join(home, 'logs', 'mail_logs', 'mail.current'), 'utf8');
const until = <T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs?: number) => untilIn(home, what, probe, timeoutMs);
const withSubject = (messages: string[], subject: string) => messages.find((m) => m.includes(`Subject: ${subject}`));

before(async () => {
  const leaf = chain.issueWithKey('mx.pf-tls.test', ['pf-tls.test']);
  tlsPeer = await startPostfix({ domain: 'pf-tls.test', hostname: 'mx.pf-tls.test', tls: { key: leaf.key, cert: leaf.cert + chain.intermediate } });
  plainPeer = await startPostfix({ domain: 'pf-plain.test', hostname: 'mx.pf-plain.test' });
  ({ home, port } = await applianceWithListener());
  await writeFile(path.join(home, 'configuration', 'root.pem'), chain.root);
  await shell(
    'listenerconfig edit InboundMail rcptaccess add .test',
    `smtproutes new pf-tls.test 127.0.0.1:${tlsPeer.port}`,
    `smtproutes new pf-plain.test 127.0.0.1:${plainPeer.port}`,
    'certconfig certauthority custom import --file root.pem',
    'certconfig certauthority custom enable',
    // STARTTLS on the listener, so a client can send REQUIRETLS (RFC 8689) to the appliance.
    'listenerconfig edit InboundMail hostaccess default --tls preferred',
    'commit "postfix peers"',
  );
});
after(async () => {
  await cleanup(home);
  await Promise.all([tlsPeer?.stop(), plainPeer?.stop()]);
});

test('Required (Verify) to Postfix: verified TLS, and Postfix records the TLS session in its Received line', async () => {
  await shell('destconfig new pf-tls.test --tls required-verify', 'commit "verify postfix"');
  await submitMail(port, 'alice@pf-tls.test', 'to postfix over verified TLS');
  const got = await until('the message in the Maildir', async () => withSubject(await tlsPeer.messages(), 'to postfix over verified TLS'));
  assert.match(got, /Received: from .*\(using TLSv1\.[23] with cipher /s, 'Postfix saw the message arrive over TLS');
  assert.match(await mailLog(), /TLS success protocol TLSv1\.[23] cipher \S+ verified yes/);
  assert.match(await tlsPeer.log(), /Anonymous TLS connection established from|TLS connection established from/);
});

test('messages share one connection to Postfix (messages per connection), each a clean transaction', async () => {
  await shell('destconfig edit pf-tls.test --max-concurrency 1 --messages-per-connection 50', 'commit "one connection"');
  // Kept sessions were closed by the commit: what follows opens exactly one new connection.
  const connectsBefore = ((await tlsPeer.log()).match(/smtpd\[\d+\]: connect from/g) ?? []).length;
  for (let i = 0; i < 5; i += 1) await submitMail(port, `user${i}@pf-tls.test`, `reuse ${i}`);
  await until('five messages', async () => {
    const messages = await tlsPeer.messages();
    return [0, 1, 2, 3, 4].every((i) => withSubject(messages, `reuse ${i}`));
  });
  const connects = ((await tlsPeer.log()).match(/smtpd\[\d+\]: connect from/g) ?? []).length - connectsBefore;
  assert.equal(connects, 1, 'Postfix accepted five messages on one connection');
});

test('Required to a Postfix without STARTTLS sends nothing; Preferred then delivers in clear', async () => {
  await shell('destconfig new pf-plain.test --tls required', 'commit "require TLS of a peer that has none"');
  const mid = await submitMail(port, 'bob@pf-plain.test', 'only with TLS');
  await until('the deferral', async () => new RegExp(`Delayed: MID ${mid} RID \\[0\\] - .*STARTTLS is not in the EHLO list`).test(await mailLog()));
  assert.deepEqual(await plainPeer.messages(), []);
  assert.doesNotMatch(await plainPeer.log(), /cleanup\[\d+\]: \w+: message-id=/, 'Postfix never got as far as a message');

  await shell('destconfig edit pf-plain.test --tls preferred', 'commit "accept clear"', `deliverynow pf-plain.test`);
  const got = await until('the message in clear', async () => withSubject(await plainPeer.messages(), 'only with TLS'));
  assert.doesNotMatch(got, /using TLS/);
  assert.match(await mailLog(), /TLS not used: STARTTLS is not in the EHLO list; delivering in clear \(TLS preferred\)/);
});

test('REQUIRETLS: Postfix 3.7 does not offer it, so a REQUIRETLS message is never sent there, over verified TLS or otherwise', async () => {
  const t = nodemailer.createTransport({ host: '127.0.0.1', port, requireTLS: true, tls: { rejectUnauthorized: false } });
  const info = await t.sendMail({ from: 'requiretls-sender@example.org', to: 'carol@pf-tls.test', subject: 'requiretls to postfix', text: 'hello\n', requireTLSExtensionEnabled: true });
  t.close();
  const mid = Number(/MID (\d+)/.exec(info.response)![1]);
  await until('the deferral', async () => new RegExp(`Delayed: MID ${mid} RID \\[0\\] - REQUIRETLS: MX\\(127\\.0\\.0\\.1\\) 127\\.0\\.0\\.1 does not offer REQUIRETLS after STARTTLS`).test(await mailLog()));
  assert.match(await mailLog(), /TLS success protocol TLSv1\.[23] cipher \S+ verified yes/, 'the TLS session itself verified');
  assert.equal(withSubject(await tlsPeer.messages(), 'requiretls to postfix'), undefined, 'Postfix never got the message');
  assert.doesNotMatch(await tlsPeer.log(), /requiretls-sender/, 'nor did Postfix see its sender: no MAIL FROM was sent');
});
