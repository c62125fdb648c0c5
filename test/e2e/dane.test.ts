import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, test } from 'node:test';
import { association } from '../../src/pki/tlsa.js';
import { applianceWithListener, cleanup, mxgate, shellOk, submitMail, until as untilIn, waitForLog, GUIDE_DESTINATION_DEFAULTS, queuedEnvelope, isQueued } from '../helpers.js';
import { opensslChain } from '../pki-fixtures.js';
import { type Records, testDnsServer, type TlsaData } from '../dns-server.js';
import { type Sink, smtpSink, strippingProxy } from '../sink.js';

/**
 * DANE end to end: real SMTP peers with STARTTLS on 127.0.0.1, a test resolver on loopback that
 * sets AD only for names marked secure, SMTP routes to host names (the TLSA owner then carries the
 * route's port) and one MX route on port 25.
 */
let home: string;
let port: number;
let dns: Awaited<ReturnType<typeof testDnsServer>>;
const chain = opensslChain();
const sinks: Sink[] = [];
const records: Records = {};

const shell = (...lines: string[]) => shellOk(home, ...lines);
const until = <T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs?: number) => untilIn(home, what, probe, timeoutMs);
const inQueue = async (mid: number) => (await isQueued(home, mid));
const envelope = async (mid: number) => (await queuedEnvelope(home, mid));
const deferred = (mid: number) => until('a deferral', async () => (await inQueue(mid)) && (await envelope(mid)).recipients?.[0]?.attempts >= 1);

/** A self-signed certificate no CA list knows: only DANE can authenticate it. */
const selfSigned = chain.issueWithKey('mx.self.test', ['mx.self.test']);
const tlsa311 = (pem: string): TlsaData => ({ usage: 3, selector: 1, matchingType: 1, certificate: association(new X509Certificate(pem), 1, 1) });
const otherKey = chain.issueWithKey('other.test', ['other.test']);

/**
 * A TLS peer for `domain` behind host `host` (an SMTP route with the peer's port, committed with
 * the destination settings `dest`), with these TLSA records.
 */
async function danePeer(domain: string, host: string, tlsa: TlsaData[] | 'servfail' | 'none', dest: string): Promise<Sink> {
  const sink = await smtpSink({ tls: { key: selfSigned.key, cert: selfSigned.cert } });
  sinks.push(sink);
  records[host] = { A: ['127.0.0.1'], secure: true };
  if (tlsa === 'servfail') records[`_${sink.port}._tcp.${host}`] = { servfail: true };
  else if (tlsa !== 'none') records[`_${sink.port}._tcp.${host}`] = { TLSA: tlsa, secure: true };
  await shell(`smtproutes new ${domain} ${host}:${sink.port}`, `destconfig new ${domain} ${dest}`, `commit "${domain}"`);
  return sink;
}

before(async () => {
  dns = await testDnsServer(records, { secureZones: ['test'] });
  ({ home, port } = await applianceWithListener());
  await shell('listenerconfig edit InboundMail rcptaccess add .test', `dnsconfig servers 127.0.0.1:${dns.port}`, 'dnsconfig validation resolver', GUIDE_DESTINATION_DEFAULTS, 'destconfig setup --alert-on-dane-failure yes', 'commit "dane setup"');
});
after(async () => {
  await cleanup(home);
  await dns.close();
  await Promise.all(sinks.map((s) => s.close()));
});

test('Opportunistic: a secure 3 1 1 record authenticates a self-signed certificate; the message goes over TLS', async () => {
  const sink = await danePeer('ok.test', 'mx.ok.test', [tlsa311(selfSigned.cert)], '--tls preferred --dane opportunistic');
  const mid = await submitMail(port, 'user@ok.test', 'dane ok');
  const got = await until('delivery', () => sink.received.find((m) => m.data.includes('Subject: dane ok')));
  assert.equal(got.secure, true);
  const log = await waitForLog(home, new RegExp(`Message finished MID ${mid} done`));
  assert.match(log, /DANE for ok\.test MX\(mx\.ok\.test\) 127\.0\.0\.1: SECURE TLSA record found for MX\(mx\.ok\.test\): 3 1 1; DANE authentication required/);
  assert.match(log, /DCID \d+ DANE SUCCESS for ok\.test: DANE: TLSA 3 1 1 matches the server certificate/);
  assert.match(log, /DCID \d+ TLS success protocol TLSv1\.3 cipher \S+ verified yes \(DANE\)/);
});

test('Opportunistic: a record for another key defers, nothing is sent, the DANE alert is raised', async () => {
  const sink = await danePeer('wrong.test', 'mx.wrong.test', [tlsa311(otherKey.cert)], '--tls preferred --dane opportunistic');
  const mid = await submitMail(port, 'user@wrong.test', 'dane wrong');
  await deferred(mid);
  assert.equal(sink.received.length, 0, 'nothing reached the peer');
  const log = await waitForLog(home, /Alert with no recipient \(alertconfig\): DANE verification failed for every MX host of wrong\.test \[Message Delivery \/ Warning\]/);
  assert.match(log, /DCID \d+ DANE FAILED for wrong\.test: DANE: no DANE-EE \(3\) record matches the server certificate/);
  assert.match(log, /TLS failed: certificate verification failed: DANE: /);
  assert.match(log, new RegExp(`Delayed: MID ${mid} RID \\[0\\] - TLS failed: certificate verification failed: DANE`));
});

test('a failed TLSA lookup (SERVFAIL: bogus) never falls back: the host is not used, even under Preferred', async () => {
  const sink = await danePeer('bogus.test', 'mx.bogus.test', 'servfail', '--tls preferred --dane opportunistic');
  const mid = await submitMail(port, 'user@bogus.test', 'dane bogus');
  await deferred(mid);
  assert.equal(sink.received.length, 0);
  const log = await waitForLog(home, /not attempted: DANE FAILED: BOGUS TLSA record for MX\(mx\.bogus\.test\) in bogus\.test/);
  assert.doesNotMatch(log, /New SMTP DCID \d+ interface \S+ address 127\.0\.0\.1 port ${sink.port}/, 'no connection was even opened');
});

test('no TLSA (secure denial): Opportunistic delivers under the TLS setting; Mandatory does not connect', async () => {
  const sink = await danePeer('nodane.test', 'mx.nodane.test', 'none', '--tls preferred --dane mandatory');
  const mid = await submitMail(port, 'user@nodane.test', 'no dane here');
  await deferred(mid);
  assert.equal(sink.received.length, 0, 'Mandatory: a host without DANE is not used');
  await waitForLog(home, /not attempted: DANE FAILED: no TLSA record \(secure denial\) for MX\(mx\.nodane\.test\) in nodane\.test; DANE is mandatory/);
  await shell('destconfig edit nodane.test --dane opportunistic', 'commit "opportunistic"', 'deliverynow nodane.test');
  const got = await until('delivery', () => sink.received.find((m) => m.data.includes('Subject: no dane here')));
  assert.equal(got.secure, true, 'Preferred: TLS when offered');
  await waitForLog(home, /DANE not used: no TLSA record \(secure denial\) for MX\(mx\.nodane\.test\) in nodane\.test/);
});

test('an insecure address record means no DANE for that host (Opportunistic), even with TLSA records', async () => {
  const sink = await danePeer('unsigned.test', 'mx.unsigned.test', [tlsa311(otherKey.cert)], '--tls preferred --dane opportunistic');
  records['mx.unsigned.test'] = { A: ['127.0.0.1'] }; // not signed: the TLSA answer must not be consulted
  await submitMail(port, 'user@unsigned.test', 'unsigned host');
  await until('delivery', () => sink.received.find((m) => m.data.includes('Subject: unsigned host')));
  await waitForLog(home, /DANE not used: INSECURE A record \(127\.0\.0\.1\) found for MX\(mx\.unsigned\.test\) in unsigned\.test/);
  assert.ok(!dns.queries.some((q) => q.startsWith(`_${sink.port}._tcp.mx.unsigned.test`)), 'no TLSA query for a host whose address is insecure');
});

test('a STARTTLS-stripping proxy in front of a DANE host: nothing is sent', async () => {
  const real = await smtpSink({ tls: { key: selfSigned.key, cert: selfSigned.cert } });
  const proxy = await strippingProxy(real.port);
  sinks.push(real, proxy);
  records['mx.strip.test'] = { A: ['127.0.0.1'], secure: true };
  records[`_${proxy.port}._tcp.mx.strip.test`] = { TLSA: [tlsa311(selfSigned.cert)], secure: true };
  await shell(`smtproutes new strip.test mx.strip.test:${proxy.port}`, 'destconfig new strip.test --tls preferred --dane opportunistic', 'commit "strip"');
  const mid = await submitMail(port, 'user@strip.test', 'stripped');
  await deferred(mid);
  assert.ok(proxy.stripped() > 0, 'the proxy removed STARTTLS');
  assert.equal(real.received.length, 0);
  await waitForLog(home, /DCID (\d+) STARTTLS command not supported\n[\s\S]*?Info: DCID \1 TLS failed: TLS required, STARTTLS unavailable, destination is TLS disabled \(STARTTLS is not in the EHLO list\)/);
});

test('MX path on port 25: secure MX, secure A, TLSA at _25._tcp; DANE-TA 2 1 1 with the leaf name checked', async () => {
  const leaf = chain.issueWithKey('mx.mxpath.test', ['mx.mxpath.test']);
  const intermediate = new X509Certificate(chain.intermediate);
  const sink = await smtpSink({ host: '127.0.0.4', port: 25, tls: { key: leaf.key, cert: leaf.cert + chain.intermediate } });
  sinks.push(sink);
  records['mxpath.test'] = { MX: [{ preference: 10, exchange: 'mx.mxpath.test' }], secure: true };
  records['mx.mxpath.test'] = { A: ['127.0.0.4'], secure: true };
  records['_25._tcp.mx.mxpath.test'] = { TLSA: [{ usage: 2, selector: 1, matchingType: 1, certificate: association(intermediate, 1, 1) }], secure: true };
  await shell('destconfig new mxpath.test --tls required --dane mandatory', 'commit "mx path"');
  const mid = await submitMail(port, 'user@mxpath.test', 'via mx');
  const got = await until('delivery', () => sink.received.find((m) => m.data.includes('Subject: via mx')));
  assert.equal(got.secure, true);
  const log = await waitForLog(home, new RegExp(`Message finished MID ${mid} done`));
  assert.match(log, /DANE SUCCESS for mxpath\.test: DANE: TLSA 2 1 1 matches the trust anchor "CN=Test Intermediate CA"/);

  const verify = await mxgate(home, ['-c', 'daneverify mxpath.test']);
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  assert.match(
    verify.stdout,
    /SECURE MX record\(mx\.mxpath\.test\) found for mxpath\.test\nSECURE A record \(127\.0\.0\.4\) found for MX\(mx\.mxpath\.test\) in mxpath\.test\nConnecting to 127\.0\.0\.4 on port 25\.\nConnected to 127\.0\.0\.4 from interface 127\.0\.0\.1\.\nSECURE TLSA record found for MX\(mx\.mxpath\.test\): 2 1 1; DANE authentication required\nChecking TLS connection\.\nTLS connection established: protocol TLSv1\.3, cipher \S+\.\nCertificate verification successful \(DANE: TLSA 2 1 1 matches the trust anchor "CN=Test Intermediate CA"\)\.\nTLS connection succeeded mxpath\.test\.\nDANE SUCCESS for mxpath\.test/,
  );

  // The same anchor, but a certificate for another name: DANE-TA checks names, so nothing goes.
  const misnamed = chain.issueWithKey('mail.elsewhere.example', ['mail.elsewhere.example']);
  const sink2 = await smtpSink({ host: '127.0.0.4', port: 2525, tls: { key: misnamed.key, cert: misnamed.cert + chain.intermediate } });
  sinks.push(sink2);
  records['mx.mxpath.test'] = { A: ['127.0.0.4'], secure: true };
  records['_2525._tcp.mx.mxpath.test'] = records['_25._tcp.mx.mxpath.test'];
  await shell('smtproutes new named.test mx.mxpath.test:2525', 'destconfig new named.test --tls required --dane mandatory', 'commit "misnamed"');
  const mid2 = await submitMail(port, 'user@named.test', 'misnamed');
  await deferred(mid2);
  assert.equal(sink2.received.length, 0);
  await waitForLog(home, /DANE FAILED for named\.test: DANE: TLSA 2 1 1 matches the issuer, but the certificate names \(mail\.elsewhere\.example\) do not match mx\.mxpath\.test or named\.test/);
});

test('tlsverify shows the DANE step; daneverify says DANE FAILED and exits 1 for a wrong record', async () => {
  const tv = await mxgate(home, ['-c', 'tlsverify ok.test']);
  assert.equal(tv.code, 0, tv.stdout + tv.stderr);
  assert.match(tv.stdout, /TLS setting for ok\.test: Preferred, DANE Opportunistic \(entry ok\.test\)\nDANE: SECURE TLSA record found for MX\(mx\.ok\.test\): 3 1 1; DANE authentication required\n/);
  assert.match(tv.stdout, /Certificate verification successful \(DANE: TLSA 3 1 1 matches the server certificate\)\./);
  const dv = await mxgate(home, ['-c', 'daneverify wrong.test']);
  assert.equal(dv.code, 1);
  assert.match(dv.stdout, /SMTP route for wrong\.test: mx\.wrong\.test \(configured; no MX lookup\)/);
  assert.match(dv.stdout, /Certificate verification failed: DANE: no DANE-EE \(3\) record matches the server certificate\nTLS connection failed for MX\(mx\.wrong\.test\)\.\nDANE FAILED for wrong\.test/);
  const none = await mxgate(home, ['-c', 'daneverify unsigned.test']);
  assert.equal(none.code, 1);
  assert.match(none.stdout, /INSECURE A record \(127\.0\.0\.1\) found for MX\(mx\.unsigned\.test\) in unsigned\.test\n.*\nMX\(mx\.unsigned\.test\) does not support DANE\.\nDANE FAILED for unsigned\.test/);
});

test('destconfig refuses DANE without TLS, with one clear line, and changes nothing', async () => {
  const r = await mxgate(home, ['-c', 'destconfig new notls.test --tls no --dane opportunistic']);
  assert.equal(r.code, 1);
  assert.match(r.stdout + r.stderr, /DANE and MTA-STS need a TLS setting other than No \(notls\.test \(DANE\)\)/);
  assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /, 'no stack trace');
  const d = await mxgate(home, ['-c', 'destconfig new notls.test --dane sometimes']);
  assert.match(d.stdout + d.stderr, /--dane must be one of default, none, opportunistic, mandatory; not "sometimes"/);
  // The default entry at No cannot be combined with DANE, and entries inheriting it are named.
  const inherit = await mxgate(home, ['-c', 'destconfig default --tls no', '-c', 'destconfig new inherit.test --dane mandatory']);
  assert.match(inherit.stdout + inherit.stderr, /DANE and MTA-STS need a TLS setting other than No \(inherit\.test \(DANE\)\)/);
  const list = await mxgate(home, ['-c', 'destconfig list']);
  assert.match(list.stdout, /^ok\.test +Preferred +Opportunistic /m);
  assert.match(list.stdout, /Alert when DANE verification fails: Yes/);
  assert.doesNotMatch(list.stdout, /notls\.test|inherit\.test/);
  // A resolver off loopback would make every answer insecure: said at once (nothing is committed).
  const remote = await mxgate(home, ['-c', 'dnsconfig servers 192.0.2.53']); // in resolver mode (set above)
  assert.match(remote.stdout + remote.stderr, /DNS server 192\.0\.2\.53 is not on loopback: its DNSSEC answers are not trusted/);
});

test('certconfig tlsa prints the records for our own certificate', async () => {
  const r = await mxgate(home, ['-c', 'certconfig tlsa Demo']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^_25\._tcp\.\S+\. IN TLSA 3 1 1 [0-9a-f]{64}$/m);
  assert.match(r.stdout, /publish the new\s+record beside the old one/);
  assert.doesNotMatch(r.stdout, /PRIVATE KEY/);
});
