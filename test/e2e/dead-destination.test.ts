import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { applianceWithListener, cleanup, freePort, shellOk, submitMail, until as untilIn } from '../helpers.js';
import { type Sink, smtpSink } from '../sink.js';

/**
 * A destination whose hosts refuse connections is marked down: its messages wait without each
 * making a connection or rewriting its envelope, one message probes it when the wait is over, and
 * when it answers again the queue goes out at once.
 */
let home: string;
let port: number;
let sink: Sink | undefined;
const mailLog = () => readFile(path.join(home, 'logs', 'mail_logs', 'mail.current'), 'utf8');
const count = (log: string, re: RegExp) => [...log.matchAll(re)].length;
const until = <T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs?: number) => untilIn(home, what, probe, timeoutMs);

before(async () => {
  ({ home, port } = await applianceWithListener());
});
after(async () => {
  await cleanup(home);
  await sink?.close();
});

test('a refusing destination is marked down; its messages wait untouched; one probe per wait; all go when it is back', async () => {
  const deadPort = await freePort(); // nothing listens there (yet)
  await shellOk(home, `smtproutes new example.net 127.0.0.1:${deadPort}`, 'bounceconfig new Fast --retry-initial 3 --retry-max 3', 'destconfig new example.net --tls no --bounce-profile Fast', 'commit "dead route"');
  const mids: number[] = [];
  for (let i = 0; i < 30; i += 1) mids.push(await submitMail(port, 'user@example.net', `waiting ${i}`));
  await until('the destination marked down', async () => /Destination example\.net is down \(.*\); its messages wait 3 s, then one of them probes it/.test(await mailLog()));
  // A rewrite of the envelope (delivery progress) goes to queue/<MID>.msg.json, which appears then.
  const envelope = (mid: number) => path.join(home, 'queue', `${mid}.msg.json`);
  const mtimes = () => Promise.all(mids.map(async (m) => (await stat(envelope(m)).catch(() => undefined))?.mtimeMs));
  const before = await mtimes();

  // Two waits go by: each ends with one probe (one connection), which fails and starts the next.
  const log = await until('two failed probes', async () => {
    const l = await mailLog();
    return count(l, /Destination example\.net is still down/g) >= 2 && l;
  }, 20_000);
  const after = await mtimes();
  const lines = log.split('\n');
  const marks = lines.flatMap((l, i) => (/Destination example\.net is (still )?down/.test(l) ? [i] : []));
  for (let k = 1; k < marks.length; k += 1) {
    const between = lines.slice(marks[k - 1]! + 1, marks[k]! + 1).join('\n');
    assert.equal(count(between, /connection failed/g), 1, `one connection per wait:\n${between}`);
  }
  // Messages that were never tried while it was down were not touched at all.
  const tried = new Set([...log.matchAll(/Delayed: MID (\d+) /g)].map((m) => Number(m[1])));
  assert.ok(tried.size <= marks.length + 8, `only probes (and attempts under way at the start) were tried: ${[...tried].join(', ')}`);
  const untouched = mids.map((m, i) => [m, i] as const).filter(([m]) => !tried.has(m));
  assert.ok(untouched.length >= 20, `most messages waited untouched (${untouched.length})`);
  for (const [m, i] of untouched) assert.equal(after[i], before[i], `envelope of MID ${m} was not rewritten`);

  // The destination comes back: the next probe gets through and every message follows at once.
  sink = await smtpSink({ port: deadPort });
  await until('all 30 delivered', () => sink!.received.length === 30, 20_000);
  assert.match(await mailLog(), /Destination example\.net is reachable again; its waiting messages are delivered now/);
  assert.match(await shellOk(home, 'showrecipients'), /no matching messages/);
});

test('deliverynow tries a down destination at once', async () => {
  await sink?.close();
  sink = undefined;
  const deadPort = await freePort();
  await shellOk(home, `smtproutes new example.net 127.0.0.1:${deadPort}`, 'bounceconfig edit Fast --retry-initial 600 --retry-max 600', 'commit "dead again"');
  await submitMail(port, 'user@example.net', 'now');
  await until('down for 600 s', async () => /its messages wait 600 s/.test(await mailLog()));
  assert.match(await shellOk(home, 'status'), /Destination down: +example\.net until .*ECONNREFUSED.*"deliverynow example\.net" tries it at once/);
  sink = await smtpSink({ port: deadPort });
  await shellOk(home, 'deliverynow example.net');
  await until('delivered after deliverynow', () => sink!.received.some((r) => r.data.includes('Subject: now')), 10_000);
});

test('status never shows a down destination "until" a time already past', async () => {
  await sink?.close();
  sink = undefined;
  const deadPort = await freePort();
  await shellOk(home, `smtproutes new example.net 127.0.0.1:${deadPort}`, 'bounceconfig edit Fast --retry-initial 2 --retry-max 2', 'commit "dead, short wait"');
  await submitMail(port, 'user@example.net', 'bounced while down');
  await until('down for 2 s', async () => /its messages wait 2 s/.test(await mailLog()));
  await shellOk(home, 'bouncerecipients --domain example.net');
  // Nothing is left to probe it: its wait runs out and stays over.
  const status = await until('the wait to run out', async () => {
    const s = await shellOk(home, 'status');
    return /Destination down: +example\.net its wait is over; the next delivery probes it \(.*ECONNREFUSED/.test(s) && s;
  });
  // (Only example.net: a bounce sent to example.org may be waiting on its own, unanswered, DNS lookup.)
  const until_ = /Destination down: +example\.net .*until (.*?) \(/.exec(status);
  assert.equal(until_, null, 'no "until" time is shown once it has passed');
});
