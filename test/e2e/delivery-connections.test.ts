import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { applianceWithListener, cleanup, shellOk, submitMail, until as untilIn, queuedEnvelope } from '../helpers.js';
import { type Sink, smtpSink } from '../sink.js';

/** destconfig limits that shape connections: messages per connection, recipient rate limit. */

let home: string;
let port: number;
const sinks: Sink[] = [];
const mailLog = () => readFile(path.join(home, 'logs', 'mail_logs', 'mail.current'), 'utf8');
const shell = (...lines: string[]) => shellOk(home, ...lines);
const submit = (to: string | string[], subject: string) => submitMail(port, to, subject);
const until = <T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs?: number) => untilIn(home, what, probe, timeoutMs);

/** The DCID each MID was delivered on, from the "Delivery start" lines. */
async function dcidOf(mids: number[]): Promise<Map<number, number>> {
  const log = await mailLog();
  const out = new Map<number, number>();
  for (const m of log.matchAll(/Delivery start DCID (\d+) MID (\d+) /g)) if (mids.includes(Number(m[2]))) out.set(Number(m[2]), Number(m[1]));
  return out;
}

before(async () => {
  ({ home, port } = await applianceWithListener());
  await shell('listenerconfig edit InboundMail rcptaccess add .test', 'commit "accept .test"');
});
after(async () => {
  await cleanup(home);
  await Promise.all(sinks.map((s) => s.close()));
});

test('a connection carries several messages, never more than the destination allows', async () => {
  const sink = await smtpSink();
  sinks.push(sink);
  await shell(`smtproutes new reuse.test 127.0.0.1:${sink.port}`, 'destconfig new reuse.test --max-concurrency 1 --messages-per-connection 3', 'commit reuse');
  const mids: number[] = [];
  for (let i = 0; i < 7; i += 1) mids.push(await submit('user@reuse.test', `reuse ${i}`));
  await until('seven deliveries', () => sink.received.length === 7);
  assert.deepEqual(sink.perSession!(), [3, 3, 1], 'three sessions: 3 + 3 + 1 messages');
  // The sink may have the seventh message before the mail log has its line (a listener worker's MIDs are not in order either).
  const dcids = await until('a delivery line for each MID', async () => {
    const found = await dcidOf(mids);
    return found.size === mids.length && found;
  });
  assert.equal(new Set(dcids.values()).size, 3, 'the log shows three DCIDs for the seven MIDs');
  // The last session is kept idle, then closed at the idle limit (an event in the log, not a
  // status read racing the 5 s limit); the two full ones are closed at once; each DCID once.
  // The last session opened (delivery order need not be submission order: MIDs come from the engine and its workers).
  const last = Math.max(...dcids.values());
  await until('the idle session closed', async () => new RegExp(`DCID ${last} unused for 5 s since its last message: closing\n.*DCID ${last} close\n`).test(await mailLog()), 10_000);
  const log = await mailLog();
  for (const d of new Set(dcids.values())) assert.equal(log.match(new RegExp(`DCID ${d} close\n`, 'g'))?.length, 1, `DCID ${d} closed once`);
  assert.equal(log.match(/unused for 5 s since its last message/g)?.length, 1, 'only the last session waited');
});

test('one message per connection turns reuse off', async () => {
  const sink = await smtpSink();
  sinks.push(sink);
  await shell(`smtproutes new single.test 127.0.0.1:${sink.port}`, 'destconfig new single.test --max-concurrency 1 --messages-per-connection 1', 'commit single');
  for (let i = 0; i < 3; i += 1) await submit('user@single.test', `single ${i}`);
  await until('three deliveries', () => sink.received.length === 3);
  assert.deepEqual(sink.perSession!(), [1, 1, 1]);
});

test('a kept connection the peer has closed is not used: the next message opens a new one', async () => {
  const sink = await smtpSink({ idleTimeoutMs: 500 });
  sinks.push(sink);
  await shell(`smtproutes new idle.test 127.0.0.1:${sink.port}`, 'commit idle');
  await submit('user@idle.test', 'before the peer times out');
  await until('first delivery', () => sink.received.length === 1);
  await new Promise((r) => setTimeout(r, 1500));
  const mid = await submit('user@idle.test', 'after the peer timed out');
  await until('second delivery', () => sink.received.length === 2, 5000);
  assert.deepEqual(sink.perSession!(), [1, 1]);
  assert.doesNotMatch(await mailLog(), new RegExp(`Delayed: MID ${mid} `), 'the second message was not deferred');
});

test('after a commit no kept connection is reused: a new TLS setting applies to the very next message', async () => {
  // A peer without STARTTLS; the first message goes in clear (setting No) and its session is kept.
  const sink = await smtpSink();
  sinks.push(sink);
  await shell(`smtproutes new tighten.test 127.0.0.1:${sink.port}`, 'commit "clear is fine"');
  await submit('user@tighten.test', 'in clear, allowed');
  await until('first delivery', () => sink.received.length === 1);
  await shell('destconfig new tighten.test --tls required', 'commit "now TLS is required"');
  const mid = await submit('user@tighten.test', 'must not go in clear');
  await until('the deferral', async () => new RegExp(`Delayed: MID ${mid} RID \\[0\\] - .*TLS required, STARTTLS unavailable`).test(await mailLog()));
  assert.equal(sink.received.length, 1, 'nothing more reached the peer in clear');
});

test('the recipient rate limit holds recipients back without counting an attempt, then lets them go', async () => {
  const sink = await smtpSink();
  sinks.push(sink);
  await shell(`smtproutes new rate.test 127.0.0.1:${sink.port}`, 'destconfig new rate.test --recipient-limit 2/1', 'commit "two recipients a minute"');
  const mid = await submit(['a@rate.test', 'b@rate.test', 'c@rate.test'], 'three recipients');
  await until('the held recipient', async () => new RegExp(`Delayed: MID ${mid} RID \\[2\\] - 4\\.4\\.5 recipient limit for rate\\.test reached \\(2 per 1 min\\); retry in \\d+ s`).test(await mailLog()));
  assert.deepEqual(sink.received.map((m) => m.to), [['a@rate.test', 'b@rate.test']]);
  const queue = await shell('showrecipients');
  assert.match(queue, /c@rate\.test/);
  assert.doesNotMatch(queue, /[ab]@rate\.test/);
  const env = (await queuedEnvelope(home, mid));
  assert.equal(env.recipients[2].attempts, 0, 'holding back is not a delivery attempt');
  // Raising the limit lets the recipient go at once (deliverynow ignores the back-off time).
  await shell('destconfig edit rate.test --recipient-limit none', 'commit "no limit"', 'deliverynow rate.test');
  await until('the held recipient delivered', () => sink.received.some((m) => m.to.includes('c@rate.test')));
});

test('limits per MX IP: each mail exchanger address gets its own connection limit, so a second address takes mail while the first is busy; per domain, one limit for all', async () => {
  // Two MX addresses of one domain (an SMTP route lists them in order), each slow to accept.
  const first = await smtpSink({ host: '127.0.0.2', delayMs: 300 });
  const second = await smtpSink({ host: '127.0.0.3', delayMs: 300 });
  sinks.push(first, second);
  const route = `smtproutes new perip.test 127.0.0.2:${first.port} 127.0.0.3:${second.port}`;
  await shell(route, 'destconfig new perip.test --tls no --max-concurrency 1 --messages-per-connection 1 --limit-type mx-ip', 'commit "limits per MX IP"');
  assert.match(await shell('destconfig detail perip.test'), /Limits apply: Separate limit for each mail exchanger IP address\n {4}Limits are enforced: System Wide \(Default\)\n/);
  for (let i = 0; i < 8; i += 1) await submit('user@perip.test', `per ip ${i}`);
  await until('eight messages', () => first.received.length + second.received.length >= 8, 30_000);
  assert.ok(first.received.length > 0 && second.received.length > 0, `both addresses took mail (${first.received.length} + ${second.received.length})`);
  assert.equal(first.maxConcurrent!(), 1, 'never more than one connection to the first address');
  assert.equal(second.maxConcurrent!(), 1, 'never more than one connection to the second');
  assert.match(await mailLog(), /Delivery to perip\.test via MX\(127\.0\.0\.2\) 127\.0\.0\.2 waits: 1 connection\(s\) to that address are open \(limit per MX IP\)/);

  // One limit for the whole domain: the first address, one message at a time, takes it all.
  const before = second.received.length;
  await shell('destconfig edit perip.test --limit-type domain', 'commit "limits per domain"');
  for (let i = 0; i < 4; i += 1) await submit('user@perip.test', `per domain ${i}`);
  await until('four more', () => first.received.length + second.received.length >= 12, 30_000);
  assert.equal(second.received.length, before, 'the second address is not needed');
  assert.equal(first.maxConcurrent!(), 1);
});

test('limits per MX IP: the recipient limit is counted for each mail exchanger address; past it at every address, recipients wait', async () => {
  const first = await smtpSink({ host: '127.0.0.2' });
  const second = await smtpSink({ host: '127.0.0.3' });
  sinks.push(first, second);
  await shell(
    `smtproutes new rateip.test 127.0.0.2:${first.port} 127.0.0.3:${second.port}`,
    'destconfig new rateip.test --tls no --recipient-limit 2/1 --limit-type mx-ip',
    'commit "two recipients a minute per address"',
  );
  const to = ['a', 'b', 'c', 'd', 'e'].map((l) => `${l}@rateip.test`);
  const mid = await submit(to, 'five recipients');
  // The first address takes two, the second the next two (the first has no room left), the fifth waits.
  await until('four recipients delivered', () => first.received.length + second.received.length === 2 && second.received.length === 1, 15_000);
  assert.deepEqual(first.received.map((m) => m.to), [['a@rateip.test', 'b@rateip.test']]);
  assert.deepEqual(second.received.map((m) => m.to), [['c@rateip.test', 'd@rateip.test']]);
  await until('the fifth held', async () => new RegExp(`Delayed: MID ${mid} RID \\[4\\] - 4\\.4\\.5 recipient limit for rateip\\.test reached at every MX address \\(2 per 1 min, limit per MX IP\\); retry in (\\d+) s`).test(await mailLog()));
  const log = await mailLog();
  assert.match(log, /Delivery to rateip\.test via MX\(127\.0\.0\.2\) 127\.0\.0\.2 waits: the recipient limit for that address is reached \(2 per 1 min, limit per MX IP\)/);
  const wait = Number(new RegExp(`Delayed: MID ${mid} RID \\[4\\] - [^\\n]*every MX address[^\\n]*retry in (\\d+) s`).exec(log)![1]);
  assert.ok(wait > 30, `the fifth waits for the window to move, not a second (${wait} s)`);
  const env = await queuedEnvelope(home, mid);
  assert.deepEqual(env.recipients.map((r: { attempts: number }) => r.attempts), [1, 1, 1, 1, 0], 'holding back is not a delivery attempt');
  assert.equal(first.received.length + second.received.length, 2, 'no address got more than its two');
  // One limit for the domain instead: its window (empty: it was never counted) lets the fifth go.
  await shell('destconfig edit rateip.test --limit-type domain', 'commit "per domain"', 'deliverynow rateip.test');
  await until('the fifth delivered', () => [...first.received, ...second.received].some((m) => m.to.includes('e@rateip.test')));
});
