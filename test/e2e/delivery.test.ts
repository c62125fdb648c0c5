import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import nodemailer from 'nodemailer';
import { applianceWithListener, cleanup, freePort, mxgate, shellOk, submitMail, until as untilIn, useChainCertificate, waitForLog, GUIDE_DESTINATION_DEFAULTS, queuedEnvelope, isQueued } from '../helpers.js';
import { opensslChain } from '../pki-fixtures.js';
import { testDnsServer } from '../dns-server.js';
import { brokenHandshakeSink, refusingStarttlsSink, type Sink, smtpSink, strippingProxy } from '../sink.js';

let home: string;
let port: number;
const chain = opensslChain();
const sinks: Sink[] = [];
const mailLog = () => readFile(path.join(home, 'logs', 'mail_logs', 'mail.current'), 'utf8');

const shell = (...lines: string[]) => shellOk(home, ...lines);

const submit = (to: string, subject: string) => submitMail(port, to, subject);
const until = <T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs?: number) => untilIn(home, what, probe, timeoutMs);

const inQueue = async (mid: number) => (await isQueued(home, mid));
const envelope = async (mid: number) => (await queuedEnvelope(home, mid));

before(async () => {
  ({ home, port } = await applianceWithListener());
  await shell('listenerconfig edit InboundMail rcptaccess add .test', GUIDE_DESTINATION_DEFAULTS, 'commit "accept .test"');
});
after(async () => {
  await cleanup(home);
  await Promise.all(sinks.map((s) => s.close()));
});

test('default TLS setting (No): a routed domain is delivered, the message leaves the queue', async () => {
  const sink = await smtpSink();
  sinks.push(sink);
  await shell(`smtproutes new plain.test 127.0.0.1:${sink.port}`, 'commit route');
  const mid = await submit('user@plain.test', 'plain delivery');
  const got = await until('delivery', () => sink.received.find((m) => m.data.includes('Subject: plain delivery')));
  assert.deepEqual(got.to, ['user@plain.test']);
  assert.equal(got.from, 'sender@example.org');
  assert.equal(got.secure, false);
  assert.match(got.data, /^Received: from /);
  await until('queue removal', async () => !(await inQueue(mid)));
  const log = await waitForLog(home, new RegExp(`Message finished MID ${mid} done`));
  assert.match(log, new RegExp(`Delivery start DCID \\d+ MID ${mid} to RID \\[0\\]`));
  assert.match(log, new RegExp(`Message done DCID \\d+ MID ${mid} to RID \\[0\\] \\[\\('250 Ok: sink queued'\\)\\]`));
  assert.match(log, new RegExp(`Message finished MID ${mid} done`));
});

test('a commit and deliverynow while an attempt is under way: the message goes by the new route at once, not after the old attempt\'s wait', async () => {
  const sink = await smtpSink();
  sinks.push(sink);
  // A host that accepts the connection and never greets: the attempt stays under way until the test closes it.
  const held: net.Socket[] = [];
  let connected!: () => void;
  const arrived = new Promise<void>((resolve) => (connected = resolve));
  const silent = net.createServer((socket) => {
    held.push(socket);
    connected();
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  try {
    await shell(`smtproutes new moved.test 127.0.0.1:${(silent.address() as net.AddressInfo).port}`, 'commit "moved.test: a host that never greets"');
    const mid = await submit('user@moved.test', 'moved while under way');
    await arrived;
    await shell('smtproutes delete moved.test', `smtproutes new moved.test 127.0.0.1:${sink.port}`, 'commit "moved.test: a host that answers"', 'deliverynow moved.test');
    for (const socket of held) socket.destroy();
    await until('delivery by the new route', () => sink.received.find((m) => m.data.includes('Subject: moved while under way')));
    await waitForLog(home, new RegExp(`MID ${mid}: the configuration changed during this attempt; it is tried again now`));
    assert.doesNotMatch(await mailLog(), /Destination moved\.test is down/, 'the old route\'s failure does not mark the destination down');
  } finally {
    silent.close();
  }
});

test('Required: a peer without STARTTLS gets nothing; the message waits; with TLS it goes', async () => {
  const plain = await smtpSink();
  const secure = await smtpSink({ tls: { key: chain.leafKey, cert: chain.leaf + chain.intermediate } });
  sinks.push(plain, secure);
  await shell(`smtproutes new req.test 127.0.0.1:${plain.port}`, 'destconfig new req.test --tls required', 'destconfig setup --alert-on-required-tls-failure yes', 'commit required');
  const mid = await submit('user@req.test', 'must be encrypted');
  await until('a deferral', async () => (await inQueue(mid)) && (await envelope(mid)).recipients?.[0]?.attempts >= 1);
  assert.equal(plain.received.length, 0, 'nothing was sent in clear');
  const log = await mailLog();
  assert.match(log, /DCID (\d+) STARTTLS command not supported\n[\s\S]*?Info: DCID \1 TLS failed: TLS required, STARTTLS unavailable, destination is TLS disabled \(STARTTLS is not in the EHLO list\)/);
  assert.match(log, /Warning: DCID \d+ IP 127\.0\.0\.1 TLS was required but could not be successfully negotiated/);
  assert.match(log, /Warning: Alert with no recipient \(alertconfig\): A required TLS connection to req\.test failed \[System \/ Warning\]/);
  assert.match(log, new RegExp(`Delayed: MID ${mid} RID \\[0\\] - .*retry in 60 s`));

  await shell(`smtproutes new req.test 127.0.0.1:${secure.port}`, 'commit "TLS peer"', 'deliverynow req.test');
  const got = await until('TLS delivery', () => secure.received.find((m) => m.data.includes('Subject: must be encrypted')));
  assert.equal(got.secure, true);
  assert.match(await mailLog(), /TLS success protocol TLSv1\.3 cipher \S+ verified no \(not required; it would not verify: /, 'Required checks nothing, but looks (tlsreport)');
});

test('Required (Verify): an untrusted chain defers; with the root in the custom list it is verified and sent', async () => {
  // The destination domain is in the certificate's subjectAltName (the seed's rule).
  const leaf = chain.issueWithKey('mx.verify.test', ['verify.test']);
  const sink = await smtpSink({ tls: { key: leaf.key, cert: leaf.cert + chain.intermediate } });
  sinks.push(sink);
  await shell(`smtproutes new verify.test 127.0.0.1:${sink.port}`, 'destconfig new verify.test --tls required-verify', 'commit verify');
  const mid = await submit('user@verify.test', 'verified only');
  await until('a deferral', async () => (await inQueue(mid)) && (await envelope(mid)).recipients?.[0]?.attempts >= 1);
  assert.equal(sink.received.length, 0);
  assert.match(await mailLog(), /TLS failed: certificate verification failed: certificate chain: /);

  await writeFile(path.join(home, 'configuration', 'root.pem'), chain.root);
  await shell('certconfig certauthority custom import --file root.pem', 'certconfig certauthority custom enable', 'certconfig certauthority system disable', 'commit "trust the test root"', 'deliverynow');
  const got = await until('verified delivery', () => sink.received.find((m) => m.data.includes('Subject: verified only')));
  assert.equal(got.secure, true);
  assert.match(await mailLog(), /TLS success protocol TLSv1\.[23] cipher \S+ verified yes/);
});

test('a STARTTLS-stripping man in the middle: Required (Verify) sends nothing; Preferred goes on in clear', async () => {
  const leaf = chain.issueWithKey('mx.mitm.test', ['mitm.test']);
  const real = await smtpSink({ tls: { key: leaf.key, cert: leaf.cert + chain.intermediate } });
  const proxy = await strippingProxy(real.port);
  sinks.push(real, proxy);
  await shell(`smtproutes new mitm.test 127.0.0.1:${proxy.port}`, 'destconfig new mitm.test --tls required-verify', 'commit mitm');
  const mid = await submit('user@mitm.test', 'through the attacker');
  await until('a deferral', async () => (await inQueue(mid)) && (await envelope(mid)).recipients?.[0]?.attempts >= 1);
  assert.ok(proxy.stripped() > 0, 'the proxy did strip STARTTLS');
  assert.equal(real.received.length, 0, 'nothing reached the peer in clear');
  await shell('destconfig edit mitm.test --tls preferred', 'commit "accept the risk"', 'deliverynow mitm.test');
  const got = await until('clear delivery', () => real.received.find((m) => m.data.includes('Subject: through the attacker')));
  assert.equal(got.secure, false);
});

test('Preferred: STARTTLS answered with 454 → delivered in clear, and the log says why', async () => {
  const sink = await refusingStarttlsSink();
  sinks.push(sink);
  await shell(`smtproutes new pref.test 127.0.0.1:${sink.port}`, 'destconfig new pref.test --tls preferred', 'commit preferred');
  const mid = await submit('user@pref.test', 'clear is fine');
  await until('delivery', () => sink.received.find((m) => m.data.includes('Subject: clear is fine')));
  await until('queue removal', async () => !(await inQueue(mid)));
  assert.match(await mailLog(), /TLS not used: STARTTLS was answered with an error: 454 4\.7\.0 TLS not available due to local problem; delivering in clear \(TLS preferred\)/);
});

test('Preferred: a handshake that fails after the 220 is never retried in clear on that attempt', async () => {
  const sink = await brokenHandshakeSink();
  sinks.push(sink);
  await shell(`smtproutes new broken.test 127.0.0.1:${sink.port}`, 'destconfig new broken.test --tls preferred', 'commit broken');
  const mid = await submit('user@broken.test', 'never in clear');
  await until('a deferral', async () => (await inQueue(mid)) && (await envelope(mid)).recipients?.[0]?.attempts >= 1);
  assert.equal(sink.received.length, 0);
  assert.match(await mailLog(), /TLS failed: handshake failed: /);
});

test('a recipient refused with 550 is bounced: the sender gets a DSN through the queue', async () => {
  const sink = await smtpSink({ reject: ['nobody@bounce.test'] });
  sinks.push(sink);
  await shell(`smtproutes new bounce.test 127.0.0.1:${sink.port}`, `smtproutes new example.org 127.0.0.1:${sink.port}`, 'commit bounce');
  const mid = await submit('nobody@bounce.test', 'to nobody');
  const dsn = await until('the DSN', () => sink.received.find((m) => m.to.includes('sender@example.org') && m.data.includes('multipart/report')));
  assert.equal(dsn.from, '', 'a DSN has a null sender');
  assert.match(dsn.data, /Final-Recipient: rfc822; nobody@bounce\.test/);
  assert.match(dsn.data, /Status: 5\.1\.1/);
  assert.match(dsn.data, /Subject: to nobody/);
  await until('queue removal', async () => !(await inQueue(mid)));
  assert.match(await mailLog(), new RegExp(`Bounced: MID ${mid} RID \\[0\\] - 550 5\\.1\\.1 No such user here`));
});

test('showrecipients lists what waits and why; bouncerecipients gives up on it with a DSN', async () => {
  const closedPort = await freePort();
  await shell(`smtproutes new stuck.test 127.0.0.1:${closedPort}`, 'commit stuck');
  const mid = await submit('user@stuck.test', 'stuck message');
  await until('a deferral', async () => (await inQueue(mid)) && (await envelope(mid)).recipients?.[0]?.attempts >= 1);
  const shown = await mxgate(home, ['-c', 'showrecipients --domain stuck.test']);
  assert.match(shown.stdout, new RegExp(`MID ${mid} RID 0  <sender@example\\.org> -> <user@stuck\\.test>  received .*, 1 attempt\\(s\\), next .*\\n    last: 127\\.0\\.0\\.1:${closedPort}: .*ECONNREFUSED`));
  const refused = await mxgate(home, ['-c', 'bouncerecipients']);
  assert.equal(refused.code, 1);
  const bounced = await mxgate(home, ['-c', 'bouncerecipients --domain stuck.test']);
  assert.match(bounced.stdout, /1 recipient\(s\) bounced\./);
  await until('queue removal', async () => !(await inQueue(mid)));
  const dsn = await until('the DSN', () => sinks.flatMap((k) => k.received).find((m) => m.data.includes('Final-Recipient: rfc822; user@stuck.test')));
  assert.match(dsn.data, /bounced by the administrator; last error: .*ECONNREFUSED/);
  const empty = await mxgate(home, ['-c', 'showrecipients --domain stuck.test']);
  assert.match(empty.stdout, /There are no matching messages in the delivery queue\./);
});

test('tlsverify tells each step and what the setting would do, without sending mail', async () => {
  const leaf = chain.issueWithKey('mx.check.test', ['check.test']);
  const sink = await smtpSink({ tls: { key: leaf.key, cert: leaf.cert + chain.intermediate } });
  sinks.push(sink);
  await shell(`smtproutes new check.test 127.0.0.1:${sink.port}`, 'destconfig new check.test --tls required-verify', 'commit "check route"');
  const ok = await mxgate(home, ['-c', 'tlsverify check.test']);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /TLS setting for check\.test: Required \(Verify\), DANE None \(entry check\.test\)\nConnecting to 127\.0\.0\.1 on port \d+\.\nConnected to 127\.0\.0\.1 from interface 127\.0\.0\.1\.\nTLS connection established: protocol TLSv1\.3, cipher \S+\.\nCertificate verification successful\.\nUnder "Required \(Verify\)": mail would be delivered over TLS\.\nTLS verification completed for check\.test\./);
  const refusing = await refusingStarttlsSink();
  sinks.push(refusing);
  await shell(`smtproutes new check.test 127.0.0.1:${refusing.port}`, 'commit refusing');
  const bad = await mxgate(home, ['-c', 'tlsverify check.test']);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /STARTTLS was answered with an error: 454 4\.7\.0/);
  assert.match(bad.stdout, /nothing would be sent; delivery would be retried later\.\nTLS verification FAILED for check\.test\./);
  assert.equal(sink.received.length + refusing.received.length, 0, 'no mail was sent');
});

test('a failed required TLS delivery sends one System/Warning alert mail; repeats are damped', async () => {
  const alertSink = await smtpSink();
  const plain = await smtpSink();
  sinks.push(alertSink, plain);
  await shell(
    `smtproutes new alerts.test 127.0.0.1:${alertSink.port}`,
    `smtproutes new strict.test 127.0.0.1:${plain.port}`,
    'destconfig new strict.test --tls required',
    'destconfig new alerts.test --tls required',
    'alertconfig new admin@alerts.test --classes system --severities warning,critical',
    'alertconfig new other@alerts.test --classes delivery --severities all',
    'alertconfig from mxgate-alerts@example.org',
    'commit alerts',
  );
  const mid = await submit('user@strict.test', 'strict');
  const alert = await until('the alert mail', () => alertSink.received.find((m) => /Subject: Warning-\S+: \(System\) A required TLS connection to strict\.test failed/.test(m.data)));
  assert.deepEqual(alert.to, ['admin@alerts.test'], 'only subscribers of System/Warning');
  assert.equal(alert.from, 'mxgate-alerts@example.org');
  assert.equal(alert.secure, false, 'alerts are not held back by the alert domain\'s own Required setting');
  assert.match(alert.data, /STARTTLS is not in the EHLO list/);
  assert.equal(plain.received.length, 0);

  await shell('deliverynow strict.test');
  await until('a second attempt', async () => (await envelope(mid)).recipients?.[0]?.attempts >= 2);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(alertSink.received.filter((m) => m.data.includes('strict.test failed')).length, 1, 'the repeat is damped');
  const shown = await mxgate(home, ['-c', 'displayalerts']);
  assert.match(shown.stdout, /WARNING {2}\(System\) A required TLS connection to strict\.test failed {2}→ admin@alerts\.test/);
  assert.match(shown.stdout, /\[duplicate, not sent\]/);
});

test('MX routing through the engine\'s DNS client: preference order, NXDOMAIN and null MX bounce', async () => {
  // A real MX delivery goes to port 25; the peer listens on its own loopback address (CI runs as root).
  const mxSink = await smtpSink({ host: '127.0.0.3', port: 25 });
  sinks.push(mxSink);
  const dnsServer = await testDnsServer({
    'mx.test': { MX: [{ preference: 20, exchange: 'backup.mx.test' }, { preference: 10, exchange: 'mail.mx.test' }] },
    'mail.mx.test': { A: ['127.0.0.3'] },
    'backup.mx.test': { A: ['127.0.0.4'] },
    'nullmx.test': { MX: [{ preference: 0, exchange: '.' }] },
    'example.org': { MX: [{ preference: 10, exchange: 'mail.mx.test' }] },
  });
  try {
    await shell(`dnsconfig servers 127.0.0.1:${dnsServer.port}`, 'dnsconfig validation resolver', 'smtproutes delete example.org', 'commit dns');
    const mid = await submit('user@mx.test', 'via MX');
    await until('MX delivery', () => mxSink.received.find((m) => m.data.includes('Subject: via MX')));
    await until('queue removal', async () => !(await inQueue(mid)));
    assert.ok(dnsServer.queries.includes('mx.test MX'));
    assert.match(await mailLog(), /New SMTP DCID \d+ interface 127\.0\.0\.\d+ address 127\.0\.0\.3 port 25/);

    const nx = await submit('user@nxdomain.test', 'nowhere');
    const dsn = await until('the NXDOMAIN bounce', () => mxSink.received.find((m) => m.to.includes('sender@example.org') && m.data.includes('nxdomain.test')));
    assert.match(dsn.data, /domain nxdomain\.test does not exist/);
    await until('queue removal', async () => !(await inQueue(nx)));
    const nul = await submit('user@nullmx.test', 'null mx');
    await until('the null MX bounce', () => mxSink.received.find((m) => m.data.includes('nullmx.test accepts no mail (null MX, RFC 7505)')));
    await until('queue removal', async () => !(await inQueue(nul)));
  } finally {
    await dnsServer.close();
  }
});

test('kill -9 during delivery: after the restart every message is delivered, none twice', async () => {
  const slow = await smtpSink({ delayMs: 700 });
  sinks.push(slow);
  // One message at a time, so the kill falls in one known place: while the sink holds back its 250.
  await shell(`smtproutes new slow.test 127.0.0.1:${slow.port}`, 'destconfig new slow.test --max-concurrency 1', 'commit slow');
  const subjects = ['one', 'two', 'three', 'four'].map((n) => `restart ${n}`);
  const mids: number[] = [];
  for (const s of subjects) mids.push(await submit(`user@slow.test`, s));
  // Wait until the engine has recorded a delivery (not merely the sink its receipt): a kill between
  // the sink's 250 and that record would rightly deliver the message again (SMTP's duplicate window).
  const finished = new RegExp(`Message finished MID (${mids.join('|')}) done`);
  await until('the first delivery recorded', async () => (finished.test(await mailLog()) ? true : undefined));
  const pid = Number((await readFile(path.join(home, 'run', 'engine.pid'), 'utf8')).trim());
  process.kill(pid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 300));
  const before = slow.received.length;
  assert.ok(before < subjects.length, 'the engine died with messages still to deliver');
  await mxgate(home, ['engine', 'start']);
  await shell('deliverynow slow.test');
  await until('every message', () => (subjects.every((s) => slow.received.some((m) => m.data.includes(`Subject: ${s}`))) ? true : undefined), 30_000);
  for (const s of subjects) assert.equal(slow.received.filter((m) => m.data.includes(`Subject: ${s}\r\n`) || m.data.includes(`Subject: ${s}\n`)).length, 1, s);
});

test('deliveries run in parallel, but never more connections to a destination than its concurrency limit', async () => {
  const limited = await smtpSink({ delayMs: 300 });
  const open = await smtpSink({ delayMs: 300 });
  sinks.push(limited, open);
  await shell(
    `smtproutes new one.test 127.0.0.1:${limited.port}`,
    `smtproutes new many.test 127.0.0.1:${open.port}`,
    'destconfig new one.test --max-concurrency 1',
    'commit concurrency',
  );
  const t = nodemailer.createTransport({ host: '127.0.0.1', port, pool: true, maxConnections: 2, ignoreTLS: true });
  try {
    await Promise.all(
      Array.from({ length: 4 }, (_, i) => [
        t.sendMail({ from: 'sender@example.org', to: 'u@one.test', subject: `one ${i}`, text: 'x' }),
        t.sendMail({ from: 'sender@example.org', to: 'u@many.test', subject: `many ${i}`, text: 'x' }),
      ]).flat(),
    );
  } finally {
    t.close();
  }
  await until('all eight', () => (limited.received.length === 4 && open.received.length === 4 ? true : undefined), 30_000);
  assert.equal(limited.maxConcurrent!(), 1, 'one.test never had two connections');
  assert.ok(open.maxConcurrent!() > 1, `many.test got parallel deliveries (${open.maxConcurrent!()})`);
});

test('outbound TLS presents the demo certificate until destconfig setup names one, then that one', async () => {
  const sink = await smtpSink({ tls: { key: chain.leafKey, cert: chain.leaf + chain.intermediate, requestCert: true } });
  sinks.push(sink);
  await shell(`smtproutes new clientcert.test 127.0.0.1:${sink.port}`, 'destconfig new clientcert.test --tls required', 'commit "client certificate"');
  await submit('user@clientcert.test', 'with the demo certificate');
  await until('TLS delivery', () => sink.received.find((m) => m.data.includes('Subject: with the demo certificate')));
  const current = JSON.parse(await readFile(path.join(home, 'config', 'current.json'), 'utf8'));
  const demo = new X509Certificate(current.config.certificates.find((c: { demo: boolean }) => c.demo).certificate);
  assert.deepEqual(sink.clientCertificates, [/CN=(.+)/.exec(demo.subject)![1]], 'the peer saw the demo certificate');
  assert.match(await shell('certconfig print'), /outbound TLS \(destconfig\)/, 'certconfig says outbound TLS uses the demo certificate');

  await useChainCertificate(home, chain, 'destconfig setup --certificate mx1');
  await submit('user@clientcert.test', 'with our certificate');
  const got = await until('TLS delivery', () => sink.received.find((m) => m.data.includes('Subject: with our certificate')));
  assert.equal(got.secure, true);
  assert.equal(sink.clientCertificates!.at(-1), 'mx.test.example', 'the peer saw the mx1 certificate');
});
