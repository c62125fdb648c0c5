import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import nodemailer from 'nodemailer';
import { type Records, testDnsServer } from '../dns-server.js';
import { applianceWithListener, cleanup, freePort, mxgate, shellOk, stopEngine, submitMail, until as untilIn, queuedMessage, queuedEnvelope } from '../helpers.js';
import { opensslChain } from '../pki-fixtures.js';
import { type Sink, smtpSink } from '../sink.js';
import { SmtpProbe } from '../smtp-probe.js';

/**
 * RFC 8689 REQUIRETLS between two mxgate engines on loopback: A (the sender's gateway) relays to
 * B, which offers REQUIRETLS; a peer that does not offer it never gets the message; an insecure MX
 * bounces at once with 5.7.30; "TLS-Required: No" from a relay host lowers the destination's TLS.
 */

const chain = opensslChain();
let a: { home: string; port: number };
let b: { home: string; port: number };
let relayPort: number;
let noRequireTls: Sink;
let plain: Sink;
let untrusted: Sink;
let dns: Awaited<ReturnType<typeof testDnsServer>>;

const log = (home: string) => readFile(path.join(home, 'logs', 'mail_logs', 'mail.current'), 'utf8');
const until = <T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false) => untilIn(a.home, what, probe);

/** Send over STARTTLS with MAIL FROM ... REQUIRETLS; returns the MID A gave it. */
async function sendRequireTls(port: number, from: string, to: string, subject: string): Promise<number> {
  const t = nodemailer.createTransport({ host: '127.0.0.1', port, requireTLS: true, tls: { rejectUnauthorized: false } });
  try {
    const info = await t.sendMail({ from, to, subject, text: 'secret body text\n', requireTLSExtensionEnabled: true });
    return Number(/MID (\d+)/.exec(info.response)![1]);
  } finally {
    t.close();
  }
}

before(async () => {
  const leaf = chain.issueWithKey('mx.b.test', ['b.test']);
  const c = chain.issueWithKey('mx.c.test', ['c.test']);
  noRequireTls = await smtpSink({ tls: { key: c.key, cert: c.cert + chain.intermediate }, hideREQUIRETLS: true });
  plain = await smtpSink();
  // Its chain lacks the intermediate: the certificate does not verify.
  untrusted = await smtpSink({ tls: chain.issueWithKey('mx.f.test', ['f.test']) });
  const records: Records = { 'd.test': { MX: [{ preference: 10, exchange: 'mx.d.test' }] }, 'mx.d.test': { A: ['127.0.0.1'] } };
  dns = await testDnsServer(records);

  b = await applianceWithListener();
  await writeFile(path.join(b.home, 'configuration', 'b.pem'), leaf.cert + chain.intermediate);
  await writeFile(path.join(b.home, 'configuration', 'b.key'), leaf.key);
  await shellOk(
    b.home,
    'certconfig paste mxb --cert b.pem --key b.key',
    'listenerconfig edit InboundMail certificate mxb',
    'listenerconfig edit InboundMail hostaccess default --tls preferred',
    'listenerconfig edit InboundMail rcptaccess add b.test',
    'commit "B receives b.test over TLS"',
  );

  a = await applianceWithListener();
  relayPort = await freePort();
  await writeFile(path.join(a.home, 'configuration', 'root.pem'), chain.root);
  await shellOk(
    a.home,
    'listenerconfig edit InboundMail hostaccess default --tls preferred',
    'listenerconfig edit InboundMail rcptaccess add .test',
    `listenerconfig new Outbound --type private --interface Management --port ${relayPort} --relay 127.0.0.1`,
    'certconfig certauthority custom import --file root.pem',
    'certconfig certauthority custom enable',
    `dnsconfig servers 127.0.0.1:${dns.port}`,
    'dnsconfig validation resolver', // the test server stands in for a validating resolver (AD bit)
    `smtproutes new b.test 127.0.0.1:${b.port}`,
    `smtproutes new c.test 127.0.0.1:${noRequireTls.port}`,
    `smtproutes new e.test 127.0.0.1:${plain.port}`,
    `smtproutes new f.test 127.0.0.1:${untrusted.port}`,
    'destconfig setup --alert-on-required-tls-failure yes',
    'destconfig new e.test --tls required',
    'commit "A relays"',
  );
});

after(async () => {
  await Promise.all([cleanup(a?.home), cleanup(b?.home), noRequireTls?.close(), plain?.close(), untrusted?.close(), dns?.close()]);
});

test('inbound: REQUIRETLS is offered only after STARTTLS, refused before it, and not offered where the policy turns it off', async () => {
  const { probe } = await SmtpProbe.connect(a.port);
  assert.doesNotMatch(await probe.send('EHLO client.test'), /REQUIRETLS/);
  assert.equal(await probe.send('MAIL FROM:<x@client.test> REQUIRETLS'), '530 5.7.10 REQUIRETLS needs TLS: issue STARTTLS first');
  assert.match(await probe.send('STARTTLS'), /^220/);
  await probe.upgrade({ rejectUnauthorized: false });
  assert.match(await probe.send('EHLO client.test'), /250[- ]REQUIRETLS\b/);
  assert.match(await probe.send('MAIL FROM:<x@client.test> REQUIRETLS'), /^250/);
  probe.close();

  await shellOk(b.home, 'listenerconfig edit InboundMail hostaccess default --requiretls no', 'commit "no REQUIRETLS"');
  try {
    const off = await SmtpProbe.connect(b.port);
    await off.probe.send('EHLO client.test');
    await off.probe.send('STARTTLS');
    await off.probe.upgrade({ rejectUnauthorized: false });
    assert.doesNotMatch(await off.probe.send('EHLO client.test'), /REQUIRETLS/);
    assert.equal(await off.probe.send('MAIL FROM:<x@client.test> REQUIRETLS'), '555 5.5.4 MAIL FROM parameter REQUIRETLS is not offered here');
    // The refused parameter does not stick to the next transaction (smtp-server's envelope keeps it).
    assert.match(await off.probe.send('MAIL FROM:<plain@client.test>'), /^250/);
    assert.match(await off.probe.send('RCPT TO:<rcpt@b.test>'), /^250/);
    assert.match(await off.probe.send('DATA'), /^354/);
    const queued = /MID (\d+)/.exec(await off.probe.send('Subject: plain after a refusal\r\n\r\nhi\r\n.'))![1];
    off.probe.close();
    assert.equal((await queuedEnvelope(b.home, queued)).requireTls, undefined);
    assert.match(await log(b.home), new RegExp(`MID ${queued} ICID \\d+ From: <plain@client\\.test>\n`));
  } finally {
    await shellOk(b.home, 'listenerconfig edit InboundMail hostaccess default --requiretls yes', 'commit "REQUIRETLS again"');
  }
});

test('A relays a REQUIRETLS message to B over verified TLS, with REQUIRETLS; B keeps the flag in its queue', async () => {
  const mid = await sendRequireTls(a.port, 'sender@a.test', 'rcpt@b.test', 'requiretls to b');
  await until('delivery to B', async () => new RegExp(`Message done DCID \\d+ MID ${mid} `).test(await log(a.home)));
  const aLog = await log(a.home);
  assert.match(aLog, new RegExp(`MID ${mid} ICID \\d+ From: <sender@a\\.test> REQUIRETLS`));
  assert.match(aLog, new RegExp(`MID ${mid} to b\\.test: REQUIRETLS: verified TLS to a host that offers REQUIRETLS`));
  assert.match(aLog, /REQUIRETLS message: MX\(127\.0\.0\.1\) comes from a DNSSEC-secure lookup or an SMTP route/);
  assert.match(aLog, /TLS success protocol TLSv1\.[23] cipher \S+ verified yes/);
  const bLog = await untilIn(b.home, 'B queued it', async () => {
    const text = await log(b.home);
    return /From: <sender@a\.test> REQUIRETLS/.test(text) && text;
  });
  const bMid = /MID (\d+) ICID \d+ From: <sender@a\.test> REQUIRETLS/.exec(bLog)![1];
  const envelope = (await queuedEnvelope(b.home, bMid));
  assert.equal(envelope.requireTls, true, 'the flag is stored with the message');
});

test('a peer that does not offer REQUIRETLS never gets the message; it waits in the queue, across a restart', async () => {
  const mid = await sendRequireTls(a.port, 'sender@a.test', 'rcpt@c.test', 'requiretls to c');
  await until('the deferral', async () => new RegExp(`Delayed: MID ${mid} RID \\[0\\] - REQUIRETLS: MX\\(127\\.0\\.0\\.1\\) 127\\.0\\.0\\.1 does not offer REQUIRETLS`).test(await log(a.home)));
  assert.deepEqual(noRequireTls.received, [], 'nothing reached the peer');
  assert.match(await log(a.home), /TLS success protocol TLSv1\.[23] cipher \S+ verified yes/, 'TLS itself was fine: REQUIRETLS is what was missing');

  await stopEngine(a.home);
  const start = await mxgate(a.home, ['engine', 'start']);
  assert.equal(start.code, 0, start.stdout + start.stderr);
  const envelope = (await queuedEnvelope(a.home, mid));
  assert.equal(envelope.requireTls, true);
  const before = (await log(a.home)).length;
  await shellOk(a.home, 'deliverynow c.test');
  await until('the retry after the restart', async () => new RegExp(`Delayed: MID ${mid} RID \\[0\\] - REQUIRETLS: `).test((await log(a.home)).slice(before)));
  assert.deepEqual(noRequireTls.received, [], 'still nothing, after the restart');
});

test('an MX found by an insecure lookup can never qualify: the message bounces at once with 5.7.30; the DSN has only the headers and goes with REQUIRETLS', async () => {
  const mid = await sendRequireTls(a.port, 'sender@b.test', 'rcpt@d.test', 'requiretls to d');
  await until('the bounce', async () => new RegExp(`Bounced: MID ${mid} RID \\[0\\] - REQUIRETLS: the MX lookup for d\\.test was not DNSSEC-secure`).test(await log(a.home)));
  // The DSN goes to the sender at b.test, through B, as a REQUIRETLS message.
  const dsnMid = await until('the DSN queued', async () => Number(new RegExp(`MID (\\d+) DSN for MID ${mid} to <sender@b\\.test> queued`).exec(await log(a.home))?.[1]) || false);
  await until('the DSN delivered to B', async () => new RegExp(`Message done DCID \\d+ MID ${dsnMid} `).test(await log(a.home)));
  const bLog = await untilIn(b.home, 'B got the DSN', async () => {
    const text = await log(b.home);
    return /From: <> REQUIRETLS/.test(text) && text;
  });
  const bMid = /MID (\d+) ICID \d+ From: <> REQUIRETLS/.exec(bLog)![1];
  const queued = await readdir(path.join(b.home, 'queue'));
  assert.ok(queued.includes(`${bMid}.msg`));
  const dsn = (await queuedMessage(b.home, bMid!)).message;
  assert.match(dsn, /Status: 5\.7\.30/);
  assert.match(dsn, /Content-Type: text\/rfc822-headers/);
  assert.match(dsn, /Subject: requiretls to d/);
  assert.doesNotMatch(dsn, /secret body text/, 'only the headers of the original');
});

test('"TLS-Required: No" from a relay host: the destination\'s Required TLS is set aside; from anyone else the header is ignored', async () => {
  const send = async (port: number, subject: string) => {
    const t = nodemailer.createTransport({ host: '127.0.0.1', port, ignoreTLS: true });
    try {
      const info = await t.sendMail({ from: 'sender@a.test', to: 'rcpt@e.test', subject, text: 'hello\n', headers: { 'TLS-Required': 'No' } });
      return Number(/MID (\d+)/.exec(info.response)![1]);
    } finally {
      t.close();
    }
  };
  const stranger = await send(a.port, 'from the internet');
  await until('the stranger\'s message held back', async () => new RegExp(`Delayed: MID ${stranger} RID \\[0\\] - .*STARTTLS is not in the EHLO list`).test(await log(a.home)));
  assert.match(await log(a.home), new RegExp(`MID ${stranger} TLS-Required: No header ignored: the sender is not a relay host`));

  const ours = await send(relayPort, 'from our relay host');
  await until('our message delivered in clear', () => plain.received.find((m) => m.data.includes('Subject: from our relay host')));
  assert.match(await log(a.home), new RegExp(`MID ${ours} to e\\.test: TLS-Required: No: the destination's TLS, DANE and MTA-STS requirements are ignored \\(RFC 8689\\)`));
  assert.equal(plain.received.find((m) => m.data.includes('Subject: from the internet')), undefined, 'the stranger\'s message still waits for TLS');
});

test('a certificate that does not verify holds a REQUIRETLS message back without a "required TLS failed" alert: that requirement is the sender\'s, not the destination\'s', async () => {
  const mid = await sendRequireTls(a.port, 'sender@a.test', 'rcpt@f.test', 'requiretls to f');
  await until('the deferral', async () => new RegExp(`Delayed: MID ${mid} RID \\[0\\] - TLS failed: certificate verification failed`).test(await log(a.home)));
  assert.doesNotMatch(await log(a.home), /A required TLS connection to f\.test failed/);
  assert.deepEqual(untrusted.received, []);
  // The destination's own Required (Verify) does raise it.
  await shellOk(a.home, 'destconfig new f.test --tls required-verify', 'commit "f.test verified"');
  const own = await submitMail(a.port, 'rcpt@f.test', 'required-verify to f');
  await until('the alert', async () => new RegExp(`Delayed: MID ${own} RID`).test(await log(a.home)) && /A required TLS connection to f\.test failed/.test(await log(a.home)));
});
