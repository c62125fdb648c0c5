import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { applianceWithListener, cleanup, freePort, mxgate, shellOk, submitMail, until as untilIn, queuedEnvelope, isQueued } from '../helpers.js';
import { type Sink, smtpSink } from '../sink.js';

/**
 * Bounce profiles (bounceconfig) through the real engine: destinations whose hosts refuse
 * connections (nothing listens on their port), the sender's domain (example.org) routed to a sink
 * that collects the bounce and delay messages.
 */
let home: string;
let port: number;
let sink: Sink;
const mailLog = () => readFile(path.join(home, 'logs', 'mail_logs', 'mail.current'), 'utf8');
const inQueue = (mid: number) => isQueued(home, mid);
const until = <T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs?: number) => untilIn(home, what, probe, timeoutMs);
const dsnsFor = (address: string) => sink.received.filter((m) => m.data.includes(`Final-Recipient: rfc822; ${address}`));

before(async () => {
  ({ home, port } = await applianceWithListener());
  sink = await smtpSink();
  const routes = await Promise.all(['retries.test', 'quiet.test', 'warn.test'].map(async (d) => [`listenerconfig edit InboundMail rcptaccess add ${d}`, `smtproutes new ${d} 127.0.0.1:${await freePort()}`]));
  await shellOk(home, ...routes.flat(), `smtproutes new example.org 127.0.0.1:${sink.port}`, 'commit "routes for the bounce tests"');
});
after(async () => {
  await cleanup(home);
  await sink?.close();
});

test('the maximum number of retries: the attempt after the last retry hard bounces, and the DSN says why', async () => {
  await shellOk(home, 'bounceconfig new Twice --max-retries 2 --retry-initial 1 --retry-max 1', 'destconfig new retries.test --tls no --bounce-profile Twice', 'commit "two retries"');
  const mid = await submitMail(port, 'user@retries.test', 'retried twice');
  const dsn = await until('the DSN', () => dsnsFor('user@retries.test')[0], 20_000);
  assert.match(dsn.data, /Action: failed/);
  assert.match(dsn.data, /maximum number of retries \(2\) reached; last error: .*ECONNREFUSED/);
  assert.deepEqual(dsn.to, ['sender@example.org']);
  await until('queue removal', async () => !(await inQueue(mid)));
  const log = await mailLog();
  assert.equal([...log.matchAll(new RegExp(`Delayed: MID ${mid} RID \\[0\\]`, 'g'))].length, 2, 'the first attempt and two retries: two deferrals, then the bounce');
  assert.match(log, new RegExp(`Bounced: MID ${mid} RID \\[0\\] - maximum number of retries \\(2\\) reached`));
});

test('a profile without hard bounce messages drops the recipient with a log line and sends no DSN', async () => {
  await shellOk(home, 'bounceconfig new Quiet --max-retries 0 --hard-bounces no', 'destconfig new quiet.test --tls no --bounce-profile Quiet', 'commit "quiet"');
  const mid = await submitMail(port, 'user@quiet.test', 'dropped quietly');
  await until('queue removal', async () => !(await inQueue(mid)));
  const log = await mailLog();
  assert.match(log, new RegExp(`MID ${mid} no bounce message for <user@quiet\\.test>: bounce profile Quiet sends none`));
  assert.doesNotMatch(log, new RegExp(`DSN for MID ${mid} `), 'no DSN was queued');
  assert.equal(dsnsFor('user@quiet.test').length, 0);
});

test('delay warnings: "delayed" DSNs at the interval, no more than the profile allows, to the alternate address; the bounce goes there too', async () => {
  await shellOk(
    home,
    'bounceconfig new Warn --retry-initial 1 --retry-max 1 --delay-warnings yes --warning-interval 1 --max-warnings 2 --alternate-address postmaster@example.org',
    'destconfig new warn.test --tls no --bounce-profile Warn',
    'commit "warn twice"',
  );
  const mid = await submitMail(port, 'user@warn.test', 'warned about');
  const warnings = await until('two delay warnings', () => (dsnsFor('user@warn.test').length >= 2 ? dsnsFor('user@warn.test') : undefined), 20_000);
  for (const w of warnings) {
    assert.deepEqual(w.to, ['postmaster@example.org'], 'to the alternate address, not the sender');
    assert.equal(w.from, '', 'a null sender');
    assert.match(w.data, /Subject: Delivery Status Notification \(Delay\)/);
    assert.match(w.data, /Action: delayed\r\nStatus: 4\.4\.1/);
    assert.match(w.data, /Will-Retry-Until: /);
    assert.match(w.data, /Subject: warned about/, 'the original headers are attached');
  }
  // Three more attempts after the second warning: none of them sends a third.
  const second = (await mailLog()).lastIndexOf(`delay warning for MID ${mid}`);
  await until('three more attempts', async () => [...(await mailLog()).slice(second).matchAll(new RegExp(`Delayed: MID ${mid} RID`, 'g'))].length >= 3, 20_000);
  assert.equal(dsnsFor('user@warn.test').length, 2);
  assert.equal([...(await mailLog()).matchAll(new RegExp(`delay warning for MID ${mid} to <postmaster@example\\.org> queued`, 'g'))].length, 2);
  assert.deepEqual((await queuedEnvelope(home, mid)).delayWarnings.sent, 2);

  // The administrator gives up on it: the bounce follows the profile too.
  assert.match(await shellOk(home, 'bouncerecipients --domain warn.test'), /1 recipient\(s\) bounced\./);
  const bounce = await until('the DSN', () => dsnsFor('user@warn.test').find((m) => /Action: failed/.test(m.data)));
  assert.deepEqual(bounce.to, ['postmaster@example.org']);
});

test('bounceconfig refuses what would break a destination, and says so in one line', async () => {
  const used = await mxgate(home, ['-c', 'bounceconfig delete Warn']);
  assert.equal(used.code, 1);
  assert.match(used.stderr + used.stdout, /The bounce profile "Warn" is used by warn\.test; choose another profile there first/);
  const unknown = await mxgate(home, ['-c', 'destconfig edit warn.test --bounce-profile Nothing']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr + unknown.stdout, /destination warn\.test: bounce profile "Nothing" does not exist/);
  const nonsense = await mxgate(home, ['-c', 'bounceconfig edit Warn --retry-max 0']);
  assert.match(nonsense.stderr + nonsense.stdout, /--retry-max must be/);
  const lonely = await mxgate(home, ['-c', 'bounceconfig edit Warn --delay-warnings no --max-warnings 3']);
  assert.match(lonely.stderr + lonely.stdout, /--warning-interval and --max-warnings need --delay-warnings yes/);
  for (const r of [nonsense, lonely, unknown, used]) assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  // Nothing of it reached the draft or the engine.
  assert.match(await shellOk(home, 'showchanges'), /No changes/i);
});

test('the dialogs: bounceconfig NEW/EDIT/DELETE and destconfig\'s "New Profile", through a pipe', async () => {
  const answers = [
    'bounceconfig',
    // name; retries (default 100); time in queue; initial and maximum retry interval (defaults); hard bounces; delay warnings every (default) …, 3 at most; no alternate address
    'new', 'Patient', '', '604800', '', '', 'y', 'y', '', '3', 'n',
    'print',
    '',
    'destconfig',
    // no concurrency, messages-per-connection or recipient limit; TLS No; no bounce verification setting; a bounce profile: a new one (chosen by its label)
    'new', 'later.test', 'n', 'n', 'n', 'y', '1', 'n', 'y', 'New Profile',
    // its name; 5 retries; the other defaults; no hard bounce messages, no warnings, no alternate address; then no IP sort preference
    'Later', '5', '', '', '', 'n', 'n', 'n', 'n',
    '',
    'commit "dialogs"',
  ];
  const r = await mxgate(home, [], `${answers.join('\n')}\n`);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Bounce profile "Patient" created/);
  assert.match(r.stdout, /Patient:\n {4}Maximum number of retries: 100\n {4}Maximum time in queue: 604800 seconds\n[^]*?Delay warnings: Yes, every 14400 seconds at most, 3 at most\n {4}Bounce and warning messages go to: the envelope sender\n {4}Used by: no destination control entry/);
  const detail = await shellOk(home, 'bounceconfig detail Later', 'destconfig detail later.test');
  assert.match(detail, /Later:\n {4}Maximum number of retries: 5\n[^]*Hard bounce messages: No\n[^]*Used by: later\.test/);
  assert.match(detail, /Bounce profile: Later\n/);
});
