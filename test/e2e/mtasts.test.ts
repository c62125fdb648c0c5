import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { association } from '../../src/pki/tlsa.js';
import { applianceWithListener, cleanup, mxgate, shellOk, stopEngine, submitMail, until as untilIn, waitForLog, GUIDE_DESTINATION_DEFAULTS, queuedEnvelope, isQueued } from '../helpers.js';
import { opensslChain } from '../pki-fixtures.js';
import { type Records, testDnsServer } from '../dns-server.js';
import { type Sink, smtpSink, strippingProxy } from '../sink.js';
import { enforcePolicy, stsPolicyHost } from '../sts-host.js';

/**
 * MTA-STS end to end: a test resolver on loopback, the policy host on 127.0.0.6:443 (HTTPS with a
 * certificate from the test CA, which the appliance trusts through its custom CA list), real SMTP
 * peers with STARTTLS reached through SMTP routes to host names, and the mail log in Debug.
 */
let home: string;
let port: number;
let dns: Awaited<ReturnType<typeof testDnsServer>>;
let stsHost: Awaited<ReturnType<typeof stsPolicyHost>>;
const chain = opensslChain();
const sinks: Sink[] = [];
const records: Records = {};
const STS_ADDRESS = '127.0.0.6';

const shell = (...lines: string[]) => shellOk(home, ...lines);
const until = <T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs?: number) => untilIn(home, what, probe, timeoutMs);
const inQueue = async (mid: number) => (await isQueued(home, mid));
const envelope = async (mid: number) => (await queuedEnvelope(home, mid));
const deferred = (mid: number) => until('a deferral', async () => (await inQueue(mid)) && (await envelope(mid)).recipients?.[0]?.attempts >= 1);
const logText = () => readFile(path.join(home, 'logs', 'mail_logs', 'mail.current'), 'utf8');
/** The log from the line matching `start` on (a message's own lines). */
const logFrom = async (start: RegExp) => {
  const text = await logText();
  const m = start.exec(text);
  return m ? text.slice(m.index) : '';
};

/** A domain with an MTA-STS record and policy, and an MX peer (SMTP route to mx.<domain>:port). */
async function stsDomain(domain: string, options: { policy?: string; mxCert?: { key: string; cert: string }; peer?: 'tls' | 'clear'; via?: (port: number) => Promise<Sink>; dest?: string; mxName?: string } = {}): Promise<Sink> {
  const mxName = options.mxName ?? `mx.${domain}`;
  const cert = options.mxCert ?? chain.issueWithKey(mxName, [mxName]);
  const sink = await smtpSink(options.peer === 'clear' ? {} : { tls: { key: cert.key, cert: cert.cert + chain.intermediate } });
  sinks.push(sink);
  const front = options.via ? await options.via(sink.port) : sink;
  if (front !== sink) sinks.push(front);
  records[mxName] = { A: ['127.0.0.1'] };
  records[`_mta-sts.${domain}`] = { TXT: ['v=STSv1; id=20261201'] };
  records[`mta-sts.${domain}`] = { A: [STS_ADDRESS] };
  stsHost.policies.set(domain, { body: options.policy ?? enforcePolicy([mxName]) });
  await shell(`smtproutes new ${domain} ${mxName}:${front.port}`, `destconfig new ${domain} ${options.dest ?? '--tls preferred --mta-sts yes'}`, `commit "${domain}"`);
  return sink;
}

before(async () => {
  dns = await testDnsServer(records);
  stsHost = await stsPolicyHost(chain, STS_ADDRESS);
  ({ home, port } = await applianceWithListener());
  await writeFile(path.join(home, 'configuration', 'root.pem'), chain.root);
  await shell(
    'listenerconfig edit InboundMail rcptaccess add .test',
    `dnsconfig servers 127.0.0.1:${dns.port}`,
    'dnsconfig validation resolver', // the test server stands in for a validating resolver (AD bit)
    'certconfig certauthority custom import --file root.pem',
    'certconfig certauthority custom enable',
    'logconfig mail_logs --level debug',
    GUIDE_DESTINATION_DEFAULTS,
    'commit "mta-sts setup"',
  );
});
after(async () => {
  await cleanup(home);
  await dns.close();
  await stsHost.close();
  await Promise.all(sinks.map((s) => s.close()));
});

test('enforce, MX in the policy, verified TLS: delivered; the guide\'s log lines in order; mtastsstatus shows the cached policy', async () => {
  const sink = await stsDomain('good.test');
  const mid = await submitMail(port, 'user@good.test', 'sts good');
  const got = await until('delivery', () => sink.received.find((m) => m.data.includes('Subject: sts good')));
  assert.equal(got.secure, true);
  await waitForLog(home, new RegExp(`Message finished MID ${mid} done`));
  const log = await logFrom(new RegExp(`MID ${mid} `));
  const expected = [
    "Debug: DNS query: Q(_mta-sts.good.test, 'TXT')",
    'Info: Successfully fetched MTA-STS TXT record for domain(good.test)',
    'Debug: Fetch MTA-STS policy for the domain(good.test)',
    'Info: Successfully fetched MTA-STS policy for the domain(good.test)',
    'Debug: MTA-STS Cache entry added for the domain (good.test).',
    'Info: Applying MTA-STS policy for the domain (good.test).',
    'Info: Enforcing TLS for MTA-STS Policy',
    'TLS success protocol TLSv1.3',
    'Info: MTA-STS policy for the domain (good.test) Successful.',
  ];
  let at = 0;
  for (const line of expected) {
    const i = log.indexOf(line, at);
    assert.ok(i >= 0, `"${line}" after position ${at} in:\n${log}`);
    at = i + line.length;
  }
  assert.match(log, /TLS success protocol TLSv1\.3 cipher \S+ verified yes/);
  const status = await shell('mtastsstatus');
  assert.match(status, /^good\.test +enforce +mx\.good\.test +20261201 +\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} \S+ +OK /m);
  const detail = await shell('mtastsstatus good.test');
  assert.match(detail, /Mode: enforce\nMX: mx\.good\.test\nMax age: 86400 s\nPolicy id: 20261201\n/);
  // The cache is on disk, one file per domain, owner-only.
  const file = path.join(home, 'cache', 'mta-sts', 'good.test.json');
  assert.equal(JSON.parse(await readFile(file, 'utf8')).policy.mode, 'enforce');
  const tv = await shell('tlsverify good.test');
  assert.match(tv, /^TLS setting for good\.test: Preferred, DANE None, MTA-STS Yes \(entry good\.test\)$/m);
  assert.match(tv, /Certificate verification successful\.\nUnder "Preferred" with MTA-STS: mail would be delivered over TLS\./);
});

test('enforce, MX not in the policy: the host is not used, nothing is sent', async () => {
  const sink = await stsDomain('stray.test', { policy: enforcePolicy(['mx.elsewhere.test']) });
  const mid = await submitMail(port, 'user@stray.test', 'sts stray');
  await deferred(mid);
  assert.equal(sink.received.length, 0);
  const log = await logFrom(new RegExp(`MID ${mid} `));
  assert.match(log, /Info: Applying MTA-STS policy for the domain \(stray\.test\) Failed\./);
  assert.match(log, /Delivery to stray\.test via MX\(mx\.stray\.test\) 127\.0\.0\.1 not attempted: MTA-STS: MX\(mx\.stray\.test\) does not match the policy of stray\.test \(mx: mx\.elsewhere\.test\)/);
  assert.doesNotMatch(log, /New SMTP DCID \d+ interface \S+ address 127\.0\.0\.1 port/, 'no connection was opened');
});

test('enforce, certificate for another name: not delivered (certificate verification failed)', async () => {
  const sink = await stsDomain('badcert.test', { mxCert: chain.issueWithKey('mx.other.test', ['mx.other.test']) });
  const mid = await submitMail(port, 'user@badcert.test', 'sts bad cert');
  await deferred(mid);
  assert.equal(sink.received.length, 0);
  const log = await logFrom(new RegExp(`MID ${mid} `));
  assert.match(log, /Info: Applying MTA-STS policy for the domain \(badcert\.test\)\.\n.*Info: Enforcing TLS for MTA-STS Policy/);
  assert.match(log, /TLS failed: certificate verification failed: MTA-STS: no subjectAltName dNSName \(mx\.other\.test\) matches mx\.badcert\.test/);
  assert.match(log, /Info: Applying MTA-STS policy for the domain \(badcert\.test\) Failed\./);
});

test('enforce behind a STARTTLS-stripping proxy: nothing is sent; the guide\'s connection-failure lines', async () => {
  let proxy: Awaited<ReturnType<typeof strippingProxy>> | undefined;
  const real = await stsDomain('strip.test', { via: async (p) => (proxy = await strippingProxy(p)) });
  const mid = await submitMail(port, 'user@strip.test', 'sts stripped');
  await deferred(mid);
  assert.ok(proxy!.stripped() > 0, 'the proxy removed STARTTLS');
  assert.equal(real.received.length, 0);
  const log = await logFrom(new RegExp(`MID ${mid} `));
  assert.match(log, /DCID (\d+) STARTTLS command not supported\n[\s\S]*?Info: DCID \1 TLS failed: TLS required, STARTTLS unavailable, destination is TLS disabled \(STARTTLS is not in the EHLO list\)/);
  assert.match(log, /Warning: DCID \d+ IP 127\.0\.0\.1 TLS was required but could not be successfully negotiated/);
  assert.match(log, /Info: Connection for the domain \(strip\.test\) failed when MTA-STS Policy was enforced\./);
});

test('no policy (no TXT record) or a failed first fetch: delivered under the domain\'s TLS setting; Debug lines only at Debug level', async () => {
  await shell('logconfig mail_logs --level info', 'commit "info level"');
  const sink = await stsDomain('nopolicy.test', { peer: 'clear' });
  delete records['_mta-sts.nopolicy.test'];
  const mid = await submitMail(port, 'user@nopolicy.test', 'sts none');
  const got = await until('delivery', () => sink.received.find((m) => m.data.includes('Subject: sts none')));
  assert.equal(got.secure, false, 'Preferred, and the peer has no STARTTLS: clear, as the setting allows');
  await waitForLog(home, new RegExp(`Message finished MID ${mid} done`));
  let log = await logFrom(new RegExp(`MID ${mid} `));
  assert.match(log, /Info: No MTA-STS record for domain\(nopolicy\.test\)/, 'a domain without MTA-STS is not "invalid"');
  assert.doesNotMatch(log, /Invalid MTA-STS TXT records found\) for domain\(nopolicy\.test\)/);
  assert.doesNotMatch(log, /Debug:/, 'Info level: no Debug lines');

  const sink2 = await stsDomain('fetchfail.test', { peer: 'clear' });
  stsHost.policies.set('fetchfail.test', { body: 'oops', status: 503 });
  const mid2 = await submitMail(port, 'user@fetchfail.test', 'sts fetch failed');
  await until('delivery', () => sink2.received.find((m) => m.data.includes('Subject: sts fetch failed')));
  await waitForLog(home, new RegExp(`Message finished MID ${mid2} done`));
  log = await logFrom(new RegExp(`MID ${mid2} `));
  assert.match(log, /Info: Failure encountered while fetching MTA-STS policy for the domain\(fetchfail\.test\)/);
  assert.match(log, /MTA-STS policy fetch for fetchfail\.test failed \(sts-policy-fetch-error\): HTTP status 503/);
  await shell('logconfig mail_logs --level debug', 'commit "debug level"');
});

test('a cached enforce policy survives a restart and stays in force when the refetch fails', async () => {
  const sink = await stsDomain('cached.test');
  await submitMail(port, 'user@cached.test', 'sts cache first');
  await until('first delivery', () => sink.received.find((m) => m.data.includes('Subject: sts cache first')));
  // New id, and the policy host fails: the cached policy must still be enforced after a restart.
  records['_mta-sts.cached.test'] = { TXT: ['v=STSv1; id=20261202'] };
  stsHost.policies.set('cached.test', { body: 'down', status: 500 });
  const clear = await smtpSink();
  sinks.push(clear);
  await stopEngine(home);
  await shell("smtproutes delete cached.test", `smtproutes new cached.test mx.cached.test:${clear.port}`, 'commit "the MX lost STARTTLS"');
  const mid = await submitMail(port, 'user@cached.test', 'sts cache second');
  await deferred(mid);
  assert.equal(clear.received.length, 0, 'never sent in clear under the cached enforce policy');
  const log = await logFrom(new RegExp(`MID ${mid} `));
  assert.match(log, /Info: Failure encountered while fetching MTA-STS policy for the domain\(cached\.test\)/);
  assert.match(log, /the cached policy \(id 20261201, until \S+\) stays in force/);
  assert.match(log, /Info: Connection for the domain \(cached\.test\) failed when MTA-STS Policy was enforced\./);
});

test('DANE Opportunistic success: MTA-STS is skipped "due to DANE being enforced"; DANE Mandatory does not consult MTA-STS', async () => {
  const self = chain.issueWithKey('mx.both.test', ['mx.both.test']);
  const sink = await stsDomain('both.test', { mxCert: self, dest: '--tls preferred --dane opportunistic --mta-sts yes' });
  records['mx.both.test'] = { A: ['127.0.0.1'], secure: true };
  records[`_${sink.port}._tcp.mx.both.test`] = { TLSA: [{ usage: 3, selector: 1, matchingType: 1, certificate: association(new X509Certificate(self.cert), 1, 1) }], secure: true };
  const mid = await submitMail(port, 'user@both.test', 'dane and sts');
  await until('delivery', () => sink.received.find((m) => m.data.includes('Subject: dane and sts')));
  await waitForLog(home, new RegExp(`Message finished MID ${mid} done`));
  const log = await logFrom(new RegExp(`MID ${mid} `));
  assert.match(log, /Info: MTA-STS policy will be skipped for the \(both\.test\) due to DANE being enforced\./);
  assert.match(log, /DANE SUCCESS for both\.test/);
  assert.doesNotMatch(log, /Applying MTA-STS policy for the domain \(both\.test\)/);

  await shell('destconfig edit both.test --dane mandatory', 'commit "mandatory"');
  const detail = await shell('destconfig detail both.test');
  assert.match(detail, /MTA-STS Support: Yes \(not consulted: DANE is mandatory\)/);
  const before = stsHost.fetches.get('both.test') ?? 0;
  const dnsBefore = dns.queries.length;
  const mid2 = await submitMail(port, 'user@both.test', 'dane mandatory');
  await until('delivery', () => sink.received.find((m) => m.data.includes('Subject: dane mandatory')));
  await waitForLog(home, new RegExp(`Message finished MID ${mid2} done`));
  assert.equal(stsHost.fetches.get('both.test') ?? 0, before);
  assert.ok(!dns.queries.slice(dnsBefore).includes('_mta-sts.both.test TXT'), 'no MTA-STS lookup at all');
});

test('a TLS report (RFC 8460) arrives at the rua mailbox: gzipped JSON with the schema\'s fields', async () => {
  const mailbox = await smtpSink();
  sinks.push(mailbox);
  records['_smtp._tls.good.test'] = { TXT: ['v=TLSRPTv1; rua=mailto:tls-reports@reports.test'] };
  records['_smtp._tls.stray.test'] = { TXT: ['v=TLSRPTv1; rua=mailto:tls-reports@reports.test'] };
  await shell(`smtproutes new reports.test 127.0.0.1:${mailbox.port}`, 'tlsrptconfig enable --org "Test Org" --contact ops@mxgate.test --hour 3', 'commit "reports"');
  const out = await shell('tlsrptconfig send-now');
  assert.match(out, /good\.test \(\d{4}-\d\d-\d\d\): report \S+ queued to tls-reports@reports\.test \(MID \d+\)/);
  assert.match(out, /badcert\.test \(\d{4}-\d\d-\d\d\): not sent, no TXT record begins with v=TLSRPTv1 at _smtp\._tls\.badcert\.test/);
  const mail = await until('the report mail', () => mailbox.received.find((m) => m.data.includes('TLS-Report-Domain: good.test')));
  assert.match(mail.data, /^Subject: Report Domain: good\.test Submitter: \S+ Report-ID: <\S+>$/m);
  assert.match(mail.data, /^Content-Type: multipart\/report; report-type="tlsrpt"; boundary=/m);
  const part = /Content-Type: application\/tlsrpt\+gzip\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="([^"]+)"\r\n\r\n([A-Za-z0-9+/=\r\n]+)/.exec(mail.data);
  assert.ok(part, 'a gzipped report part');
  assert.match(part[1]!, /^[^!]+!good\.test!\d+!\d+!\S+\.json\.gz$/);
  const report = JSON.parse(gunzipSync(Buffer.from(part[2]!.replace(/\r\n/g, ''), 'base64')).toString('utf8'));
  assert.equal(report['organization-name'], 'Test Org');
  assert.equal(report['contact-info'], 'ops@mxgate.test');
  assert.match(report['report-id'], /\S+/);
  assert.match(report['date-range']['start-datetime'], /^\d{4}-\d\d-\d\dT00:00:00Z$/);
  assert.match(report['date-range']['end-datetime'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const sts = report.policies.find((p: { policy: { 'policy-type': string } }) => p.policy['policy-type'] === 'sts');
  assert.deepEqual(sts.policy, { 'policy-type': 'sts', 'policy-string': ['version: STSv1', 'mode: enforce', 'mx: mx.good.test', 'max_age: 86400'], 'policy-domain': 'good.test', 'mx-host': ['mx.good.test'] });
  assert.ok(sts.summary['total-successful-session-count'] >= 1);
  assert.equal(sts.summary['total-failure-session-count'], 0);
  // The failing domain's report names the failure type.
  const stray = await until('the stray.test report', () => mailbox.received.find((m) => m.data.includes('TLS-Report-Domain: stray.test')));
  const b64 = /Content-Disposition: attachment; filename="[^"]+"\r\n\r\n([A-Za-z0-9+/=\r\n]+)/.exec(stray.data)![1]!;
  const strayReport = JSON.parse(gunzipSync(Buffer.from(b64.replace(/\r\n/g, ''), 'base64')).toString('utf8'));
  const detail = strayReport.policies[0]['failure-details'][0];
  assert.equal(detail['result-type'], 'validation-failure');
  assert.equal(detail['receiving-mx-hostname'], 'mx.stray.test');
  assert.ok(detail['failed-session-count'] >= 1);
  // Sent material is forgotten: a second send-now has nothing new for good.test. The stray.test
  // message of an earlier test is still retried in the background (at once after each commit), so
  // stray.test may have new sessions: then they make a new report, never the first one again.
  const again = await shell('tlsrptconfig send-now');
  assert.doesNotMatch(again, /good\.test/);
  const firstStray = /stray\.test \(\S+\): report (\S+) queued/.exec(out)![1];
  const strayAgain = /stray\.test \(\S+\): report (\S+) queued/.exec(again);
  if (strayAgain) assert.notEqual(strayAgain[1], firstStray, 'a new report for new sessions only');
  assert.match(again, /There is no TLS session recorded since the last report\.|\(\d{4}-\d\d-\d\d\): /);
});

test('TLS reports to an https: rua are POSTed as application/tlsrpt+gzip', async () => {
  const cert = chain.issueWithKey('reports-https.test', ['reports-https.test']);
  const posts: { type: string | undefined; path: string | undefined; body: Buffer }[] = [];
  const receiver = https.createServer({ key: cert.key, cert: cert.cert + chain.intermediate }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push({ type: req.headers['content-type'], path: req.url, body: Buffer.concat(chunks) });
      res.writeHead(201).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.7', r));
  try {
    const sink = await stsDomain('posted.test');
    await submitMail(port, 'user@posted.test', 'sts posted');
    await until('delivery', () => sink.received.find((m) => m.data.includes('Subject: sts posted')));
    records['reports-https.test'] = { A: ['127.0.0.7'] };
    records['_smtp._tls.posted.test'] = { TXT: [`v=TLSRPTv1; rua=https://reports-https.test:${(receiver.address() as { port: number }).port}/tlsrpt`] };
    const out = await shell('tlsrptconfig send-now');
    assert.match(out, /posted\.test \(\d{4}-\d\d-\d\d\): report \S+ posted to https:\/\/reports-https\.test:\d+\/tlsrpt \(HTTP 201\)/);
    assert.equal(posts.length, 1);
    assert.equal(posts[0]!.type, 'application/tlsrpt+gzip');
    assert.equal(posts[0]!.path, '/tlsrpt');
    const report = JSON.parse(gunzipSync(posts[0]!.body).toString('utf8'));
    assert.equal(report.policies[0].policy['policy-domain'], 'posted.test');
    assert.equal(report.policies[0].summary['total-successful-session-count'], 1);
  } finally {
    await new Promise((r) => receiver.close(r));
  }
});

test('Required - Verify Hosted Domain with MTA-STS: both checks apply', async () => {
  // The certificate names the hosted domain, not the MX: the hosted check passes, MTA-STS does not.
  const sink = await stsDomain('hosted.test', { mxCert: chain.issueWithKey('hosted.test', ['hosted.test']), dest: '--tls required-verify-hosted --mta-sts yes' });
  const mid = await submitMail(port, 'user@hosted.test', 'hosted and sts');
  await deferred(mid);
  assert.equal(sink.received.length, 0);
  assert.match(await logFrom(new RegExp(`MID ${mid} `)), /TLS failed: certificate verification failed: MTA-STS: no subjectAltName dNSName \(hosted\.test\) matches mx\.hosted\.test/);
  // A certificate for the MX host satisfies both.
  const good = await stsDomain('hosted2.test', { dest: '--tls required-verify-hosted --mta-sts yes' });
  await submitMail(port, 'user@hosted2.test', 'hosted2 and sts');
  const got = await until('delivery', () => good.received.find((m) => m.data.includes('Subject: hosted2 and sts')));
  assert.equal(got.secure, true);
});

test('destconfig: --mta-sts in batch forms and the dialog, refused without TLS, exported and imported', async () => {
  const bad = await mxgate(home, ['-c', 'destconfig new notls.test --tls no --mta-sts yes']);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout + bad.stderr, /DANE and MTA-STS need a TLS setting other than No \(notls\.test \(MTA-STS\)\)/);
  assert.doesNotMatch(bad.stdout + bad.stderr, /\n\s+at /);
  const word = await mxgate(home, ['-c', 'destconfig new x.test --mta-sts maybe']);
  assert.match(word.stdout + word.stderr, /--mta-sts must be one of default, no, yes; not "maybe"/);
  const def = await mxgate(home, ['-c', 'destconfig default --mta-sts default']);
  assert.match(def.stdout + def.stderr, /The default entry needs an MTA-STS setting of its own \(yes or no\)/);
  const list = await shell('destconfig list');
  assert.match(list, /^Default +No +None +No /m, 'the default entry starts at No');
  assert.match(list, /^good\.test +Preferred +Default \(None\) +Yes /m);
  const dialog = await mxgate(home, [], ['destconfig', 'new', 'dialog.test', 'N', 'N', 'N', 'Y', '2', 'N', 'Y', 'Y', 'N', 'N', 'N', '', 'commit', ''].join('\n') + '\n');
  assert.match(dialog.stdout, /Do you wish to configure MTA-STS Support for this domain\? \[N\]> Y\nDo you want to use MTA-STS Support\? \[N\]> Y\n/);
  assert.match(await shell('destconfig detail dialog.test'), /MTA-STS Support: Yes\n/);
  await shell('destconfig export --file dest.txt');
  const text = await readFile(path.join(home, 'configuration', 'dest.txt'), 'utf8');
  assert.match(text, /\[good\.test\]\ntls = preferred\nmta_sts = yes\n/);
  assert.match(text, /\[DEFAULT\]\ntls = no\ndane = none\nmta_sts = no\n/);
  await writeFile(path.join(home, 'configuration', 'bad.txt'), text.replace('mta_sts = yes', 'mta_sts = sometimes'));
  const imp = await mxgate(home, ['-c', 'destconfig import --file bad.txt']);
  assert.match(imp.stdout + imp.stderr, /\[good\.test\] mta_sts must be one of no, yes, not "sometimes"\./);
});

test('logconfig, tlsrptconfig and mtastsstatus refuse bad input with one line and change nothing', async () => {
  const rows: [string, RegExp][] = [
    ['logconfig mail_logs --level loud', /--level must be one of critical, warning, info, debug, trace; not "loud"\./],
    ['logconfig system_logs --level debug', /Name one log: mail_logs, cli_logs, gui_logs\./],
    ['tlsrptconfig --contact nobody', /--contact must be an e-mail address; not "nobody"\./],
    ['tlsrptconfig --hour 24', /--hour is the UTC hour to send reports, 0-23; not "24"\./],
    ['tlsrptconfig sometimes', /Unknown operation "sometimes"\./],
    ['mtastsstatus never.test', /There is no MTA-STS cache entry for never\.test/],
  ];
  for (const [line, why] of rows) {
    const r = await mxgate(home, ['-c', line]);
    assert.equal(r.code, 1, line);
    assert.match(r.stdout + r.stderr, why, line);
    assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /, `${line}: no stack trace`);
  }
  const logconfig = await shell('logconfig');
  assert.match(logconfig, /mail_logs: Text Mail Logs, log level Debug/);
  assert.doesNotMatch(logconfig, /IronPort/, 'mxgate is not an IronPort');
  assert.match(await shell('tlsrptconfig'), /TLS reports: enabled\nOrganization: Test Org\nContact: ops@mxgate\.test\nSent daily at 03:00 UTC/);
});
