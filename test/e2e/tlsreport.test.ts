import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import nodemailer from 'nodemailer';
import { applianceWithListener, cleanup, freePort, mxgate, shellOk, stopEngine, submitMail, until } from '../helpers.js';
import { GuiClient } from '../gui-client.js';
import { opensslChain } from '../pki-fixtures.js';
import { type Sink, smtpSink } from '../sink.js';
import { SmtpProbe } from '../smtp-probe.js';
import { testDnsServer } from '../dns-server.js';
import { enforcePolicy, stsPolicyHost } from '../sts-host.js';

/**
 * tlsreport outbound: real deliveries, one partner whose certificate verifies and one that offers
 * no STARTTLS, counted per domain across an engine restart; a suggestion only for the one whose
 * every delivery verified, with the command that makes it.
 */
let home: string;
let port: number;
let verified: Sink;
let plain: Sink;
/** The GUI's port, once the first test has turned HTTPS on. */
let https: number;
const chain = opensslChain();
/** The MTA-STS policy host: HTTPS on this loopback address, port 443 (no other test file uses it). */
const STS_ADDRESS = '127.0.0.16';

before(async () => {
  ({ home, port } = await applianceWithListener());
  const leaf = chain.issueWithKey('mx.partner.test', ['partner.test', 'looked.test']);
  verified = await smtpSink({ tls: { key: leaf.key, cert: leaf.cert + chain.intermediate } });
  plain = await smtpSink();
  await writeFile(path.join(home, 'configuration', 'root.pem'), chain.root);
  await shellOk(
    home,
    'listenerconfig edit InboundMail rcptaccess add partner.test',
    'listenerconfig edit InboundMail rcptaccess add plain.test',
    'listenerconfig edit InboundMail rcptaccess add strict.test',
    'listenerconfig edit InboundMail rcptaccess add looked.test',
    'certconfig certauthority custom import --file root.pem',
    'certconfig certauthority custom enable',
    `smtproutes new partner.test 127.0.0.1:${verified.port}`,
    `smtproutes new plain.test 127.0.0.1:${plain.port}`,
    `smtproutes new strict.test 127.0.0.1:${plain.port}`,
    `smtproutes new looked.test 127.0.0.1:${verified.port}`,
    'destconfig new partner.test --tls preferred-verify --max-concurrency 5',
    'destconfig new plain.test --tls preferred',
    'destconfig new strict.test --tls required',
    'destconfig new looked.test --tls preferred',
    'commit "two partners"',
  );
});
after(async () => {
  await verified?.close();
  await plain?.close();
  await cleanup(home);
});

test('deliveries are counted per domain by how TLS went, kept across a restart, and the evidence suggests the next step', async () => {
  for (let i = 0; i < 6; i++) await submitMail(port, [`a${i}@partner.test`, `l${i}@looked.test`], `verified ${i}`);
  for (let i = 0; i < 2; i++) await submitMail(port, [`b${i}@plain.test`], `plain ${i}`);
  await submitMail(port, ['c@strict.test'], 'TLS required, none offered');
  await until(home, 'the first deliveries', () => verified.received.length >= 12 && plain.received.length >= 2);
  await stopEngine(home);
  assert.equal((await mxgate(home, ['engine', 'start'])).code, 0);
  for (let i = 6; i < 10; i++) await submitMail(port, [`a${i}@partner.test`, `l${i}@looked.test`], `verified ${i}`);
  await until(home, 'ten deliveries to each', () => verified.received.length >= 20);
  const out = await until(home, 'the report to count them', async () => {
    const r = await shellOk(home, 'tlsreport');
    return /partner\.test +10 /.test(r) && /looked\.test +10 /.test(r) && /strict\.test: no STARTTLS/.test(r) ? r : undefined;
  });
  assert.match(out, /Deliveries by destination domain, the last 30 days/);
  assert.match(out, /partner\.test +10 +0 +0 +0 +10 +0 +0 +0 +100 %/);
  assert.match(out, /looked\.test +10 +0 +10 +10 +0 +0 +0 +0 +100 %/, 'Preferred checks nothing, but the certificate was looked at');
  assert.match(out, /plain\.test +2 +2 +0 +0 +0 +0 +0 +0 +0 %/);
  assert.match(out, /Suggestions \(no delivery of the period would have failed\):\n/);
  assert.match(out, /\n {2}partner\.test: 10 deliveries over 30 days, every one over verified TLS\n {4}destconfig edit partner\.test --tls required-verify --max-concurrency 5\n/);
  assert.match(out, /\n {2}looked\.test: 10 deliveries over 30 days, every one with a certificate that verified\n {4}destconfig edit looked\.test --tls required-verify\n/);
  assert.doesNotMatch(out, /plain\.test: /, 'no suggestion for a partner without TLS');
  assert.match(out, /strict\.test +\d+ +0 +0 +0 +0 +0 +0 +[1-9]\d* +0 %/);
  assert.match(out, /Connections that carried nothing:\n {2}strict\.test: no STARTTLS [1-9]/);

  const one = await shellOk(home, 'tlsreport outbound PLAIN.test --days 1');
  assert.doesNotMatch(one, /partner\.test/);
  assert.match(one, /plain\.test +2 /);
  assert.match(one, /Day by day \(UTC; days without a delivery left out\):\nDay +Deliveries +Clear .*\n\d{4}-\d\d-\d\d +2 +2 +0 /, 'one domain: its days');
  const none = await shellOk(home, 'tlsreport nobody.test');
  assert.match(none, /No delivery to nobody\.test in the last 30 days\./);
  const bad = await mxgate(home, ['-c', 'tlsreport --days 40']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--days/);

  // The GUI: the same table, a CSV export, and a suggestion staged as a pending change.
  https = await freePort();
  await writeFile(path.join(home, 'configuration', 'admin.pw'), 'correct horse battery\n');
  await shellOk(home, 'userconfig new admin --role administrator --password-file admin.pw', `interfaceconfig edit Management --https ${https}`, 'commit "GUI"');
  const gui = new GuiClient(https);
  await gui.login('admin', 'correct horse battery');
  const page = await gui.get('/tls-report?sort=domain');
  assert.match(page.body, /<tr><td><a href="[^"]*">looked\.test<\/a><\/td><td>10<\/td><td>0<\/td><td>10<\/td><td>10<\/td><td>0<\/td>/);
  assert.ok(page.body.indexOf('>looked.test</a>') < page.body.indexOf('>partner.test</a>'), 'sorted by domain');
  assert.match(page.body, />strict\.test<\/a><\/td>.*<td>no STARTTLS [1-9]\d*<\/td><\/tr>/);
  // One domain's page: a bar per day by TLS outcome, and its suggestion.
  const domainPage = await gui.get('/tls-report/domain?name=looked.test&days=7');
  assert.match(domainPage.body, /10 delivery attempts to looked\.test in the last 7 days, day by day \(UTC\); MX hosts that took mail: 127\.0\.0\.1:/);
  assert.match(domainPage.body, /<svg class="chart" role="img" aria-label="Deliveries to looked\.test by TLS outcome per day"/);
  assert.equal(domainPage.body.match(/<g><title>\d{4}-\d\d-\d\d — /g)?.length, 7, 'a bar for each of the 7 days');
  assert.match(domainPage.body, /<title>\d{4}-\d\d-\d\d — Clear text 0, TLS \(not verified\) 10, /, "today's bar: ten TLS deliveries");
  assert.match(domainPage.body, /<strong>Suggestion<\/strong>: .*destconfig edit looked\.test --tls required-verify/);
  const file = await gui.get('/tls-report.csv?days=30');
  assert.match(String(file.headers['content-type']), /^text\/csv/);
  assert.match(file.body, /^domain,deliveries,clear,tls,tls_would_verify,verified,dane,mta_sts,failed,connection_failures\r\n/);
  assert.match(file.body, /\r\nlooked\.test,10,0,10,10,0,0,0,0,\r\n/);
  await gui.post('/tls-report/accept', { days: '30', command: 'destconfig edit looked.test --tls required-verify' });
  assert.match(await gui.flash('/tls-report'), /^Staged: destconfig edit looked\.test --tls required-verify\. Commit the changes to apply them\./);
  assert.match(gui.last, /<li>destination looked\.test: TLS Preferred → Required \(Verify\)<\/li>/);
  await gui.post('/tls-report/accept', { days: '30', command: 'destconfig edit partner.test --tls no' });
  assert.match(await gui.flash('/tls-report'), /That suggestion no longer holds/, 'only the engine\'s suggestions can be staged this way');
  await gui.post('/abandon', { back: '/tls-report' });

  // The suggestion is a command that works as it is.
  const applied = await shellOk(home, 'destconfig edit partner.test --tls required-verify --max-concurrency 5', 'commit "as suggested"', 'tlsreport partner.test');
  assert.doesNotMatch(applied, /Suggestions/, 'nothing more to tighten by TLS');
});

test('tlsreport inbound: messages by sending domain and by client host, clear or over TLS, and the sessions whose TLS failed', async () => {
  await shellOk(home, 'listenerconfig edit InboundMail hostaccess default --tls preferred', 'commit "STARTTLS inbound"');
  const t = nodemailer.createTransport({ host: '127.0.0.1', port, requireTLS: true, tls: { rejectUnauthorized: false } });
  await t.sendMail({ from: 'someone@tls-sender.test', to: 'x@partner.test', subject: 'over tls', text: 'hi\n' });
  t.close();
  // A client that asks for STARTTLS and then sends no TLS handshake.
  const { probe } = await SmtpProbe.connect(port);
  await probe.send('EHLO broken.test');
  assert.match(await probe.send('STARTTLS'), /^220/);
  probe.write('this is not a TLS client hello\r\n\r\n');
  await until(home, 'the failed handshake', async () => /ICID \d+ TLS failed: /.test(await readFile(path.join(home, 'logs', 'mail_logs', 'mail.current'), 'utf8')));
  probe.close();

  // The thirteen messages of the first test came in clear from 127.0.0.1 (nine of them before the restart).
  const all = await shellOk(home, 'tlsreport inbound');
  assert.match(all, /^example\.org +13 +13 +0 +0 %$/m);
  assert.match(all, /^tls-sender\.test +1 +0 +1 +100 %$/m);
  assert.match(all, /^127\.0\.0\.1 +14 +13 +1 +7 % +handshake failed 1$/m);
  const one = await shellOk(home, 'tlsreport inbound TLS-Sender.test');
  assert.match(one, /^tls-sender\.test +1 +0 +1 +100 %$/m);
  assert.doesNotMatch(one, /example\.org|127\.0\.0\.1/);
  const host = await shellOk(home, 'tlsreport inbound 127.0.0.1 --days 1');
  assert.match(host, /by client host, the last 1 day,/);
  assert.doesNotMatch(host, /Sending domain/);
  assert.match(await shellOk(home, 'tlsreport inbound nobody.test'), /Nothing received from nobody\.test in the last 30 days\./);

  const gui = new GuiClient(https);
  await gui.login('admin', 'correct horse battery');
  const page = await gui.get('/tls-report');
  assert.match(page.body, /<table id="tls-inbound-senders">[^]*<tr><td>tls-sender\.test<\/td><td>1<\/td><td>0<\/td><td>1<\/td><td>100 %<\/td><\/tr>/);
  assert.match(page.body, /<table id="tls-inbound-hosts">[^]*<tr><td>127\.0\.0\.1<\/td><td>14<\/td><td>13<\/td><td>1<\/td><td>7 %<\/td><td>handshake failed 1<\/td><\/tr>/);
});

test('MTA-STS: a partner whose policy in enforce names every MX that took verified mail gets --mta-sts yes suggested; the last hours show this hour, with no suggestion', async () => {
  const mx = chain.issueWithKey('mx.sts.test', ['mx.sts.test']);
  const sink = await smtpSink({ tls: { key: mx.key, cert: mx.cert + chain.intermediate } });
  const dns = await testDnsServer({
    '_mta-sts.sts.test': { TXT: ['v=STSv1; id=20261206'] },
    'mta-sts.sts.test': { A: [STS_ADDRESS] },
    'mx.sts.test': { A: ['127.0.0.1'] },
  });
  const stsHost = await stsPolicyHost(chain, STS_ADDRESS);
  stsHost.policies.set('sts.test', { body: enforcePolicy(['mx.sts.test']) });
  try {
    await shellOk(
      home,
      `dnsconfig servers 127.0.0.1:${dns.port}`,
      'dnsconfig validation resolver',
      'listenerconfig edit InboundMail rcptaccess add sts.test',
      `smtproutes new sts.test mx.sts.test:${sink.port}`,
      'destconfig new sts.test --tls preferred-verify --mta-sts no', // the embedded configuration turns it on by default
      'commit "a partner with MTA-STS"',
    );
    for (let i = 0; i < 10; i++) await submitMail(port, [`s${i}@sts.test`], `sts ${i}`);
    await until(home, 'ten deliveries to sts.test', () => sink.received.length >= 10);
    assert.equal(stsHost.fetches.get('sts.test') ?? 0, 0, 'delivery does not look MTA-STS up while it is off');
    const out = await until(home, 'the report to count them', async () => {
      const r = await shellOk(home, 'tlsreport sts.test');
      return /sts\.test +10 /.test(r) ? r : undefined;
    });
    assert.match(out, /\n {2}sts\.test: 10 deliveries over 30 days, every one over verified TLS to mx\.sts\.test, each named by its MTA-STS policy \(enforce\)\n {4}destconfig edit sts\.test --tls preferred-verify --mta-sts yes\n/);
    assert.equal(stsHost.fetches.get('sts.test'), 1, 'the report looked the policy up');

    // The last hours: this hour's deliveries, hour by hour, and no suggestion from so short a period.
    const hours = await shellOk(home, 'tlsreport sts.test --hours 2');
    assert.match(hours, /Deliveries by destination domain, since \d\d:00 UTC/);
    assert.match(hours, /sts\.test +10 +0 +0 +0 +10 /);
    assert.match(hours, /Hour by hour \(UTC; hours without a delivery left out\):\nHour +Deliveries .*\n\d\d:00 +10 +0 +0 +10 /);
    assert.doesNotMatch(hours, /Suggestions/);
    assert.match((await mxgate(home, ['-c', 'tlsreport --hours 25'])).stderr, /--hours/);
    assert.match((await mxgate(home, ['-c', 'tlsreport --hours 1 --days 2'])).stderr, /--days or --hours, not both/);
    const gui = new GuiClient(https);
    await gui.login('admin', 'correct horse battery');
    const page = await gui.get('/tls-report?hours=1');
    assert.match(page.body, /Period: <strong>this hour<\/strong>/);
    assert.match(page.body, /<a href="\/tls-report\/domain\?name=sts\.test&hours=1">sts\.test<\/a><\/td><td>10<\/td>/);
    assert.match(page.body, /Suggestions rest on days of evidence/);
    const domainPage = await gui.get('/tls-report/domain?name=sts.test&hours=24');
    assert.equal(domainPage.body.match(/<g><title>\d{4}-\d\d-\d\dT\d\d:00 UTC — /g)?.length, 24, 'a bar for each of the 24 hours');

    // Two suggestions for one domain: the report says they do not add up as commands; the GUI stages both.
    assert.match(out, /\n {4}destconfig edit sts\.test --tls required-verify --mta-sts no\n/);
    assert.match(out, /\(sts\.test: each command repeats the domain's other settings as committed; take one, commit, and run tlsreport again for the next\.\)/);
    await gui.post('/tls-report/accept', { days: '30', command: 'destconfig edit sts.test --tls required-verify --mta-sts no' });
    assert.match(await gui.flash('/tls-report'), /^Staged: destconfig edit sts\.test --tls required-verify --mta-sts no\./);
    await gui.post('/tls-report/accept', { days: '30', command: 'destconfig edit sts.test --tls preferred-verify --mta-sts yes' });
    assert.match(await gui.flash('/tls-report'), /^Staged: destconfig edit sts\.test --tls preferred-verify --mta-sts yes\./);
    const staged = (gui.last.match(/<li>destination sts\.test: [^<]*<\/li>/g) ?? []).join('\n');
    assert.match(staged, /Preferred \(Verify\) → Required \(Verify\)/, `the first suggestion is still staged: ${staged}`);
    assert.match(staged, /MTA-STS[^<]*→ *Yes/, `the second is staged beside it: ${staged}`);
    await gui.post('/abandon', { back: '/tls-report' });

    // The suggestion works as it is, and then holds no more.
    const applied = await shellOk(home, 'destconfig edit sts.test --tls preferred-verify --mta-sts yes', 'commit "as suggested"', 'tlsreport sts.test');
    assert.doesNotMatch(applied, /named by its MTA-STS policy/);
    assert.match(applied, /destconfig edit sts\.test --tls required-verify --mta-sts yes/, 'the other suggestion keeps the new setting');
  } finally {
    await sink.close();
    await dns.close();
    await stsHost.close();
  }
});
