import assert from 'node:assert/strict';
import https from 'node:https';
import net from 'node:net';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { applianceWithListener, cleanup, freePort, mxgate, shellOk, submitMail, until, GUIDE_DESTINATION_DEFAULTS } from '../helpers.js';
import { type Sink, smtpSink } from '../sink.js';

/**
 * The Prometheus endpoint end to end: /metrics on the HTTPS port of an interface that has it on,
 * read with a token made by metricsconfig (or from an allowed address), and its counts agree with
 * the mail log after real SMTP sessions and deliveries.
 */
let home: string;
let smtpPort: number;
let httpsPort: number;
let token: string;
let sink: Sink;
const mailLog = () => readFile(path.join(home, 'logs', 'mail_logs', 'mail.current'), 'utf8');

function scrape(headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: import('node:http').IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port: httpsPort, path: '/metrics', headers, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on('error', reject);
  });
}

const bearer = () => ({ Authorization: `Bearer ${token}` });

/** The value of one sample (`name{labels}`), 0 when the exposition does not have it. */
function sample(body: string, series: string): number {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

before(async () => {
  ({ home, port: smtpPort } = await applianceWithListener());
  httpsPort = await freePort();
  sink = await smtpSink();
  const out = await shellOk(
    home,
    GUIDE_DESTINATION_DEFAULTS,
    'listenerconfig edit InboundMail rcptaccess add .test',
    `smtproutes new plain.test 127.0.0.1:${sink.port}`,
    `interfaceconfig edit Management --https ${httpsPort} --metrics on`,
    'metricsconfig token new',
    'commit "metrics"',
  );
  token = /^(mxgm_[A-Za-z0-9_-]{43})$/m.exec(out)?.[1] ?? '';
  assert.ok(token, `metricsconfig token new printed a token:\n${out}`);
});
after(async () => {
  await cleanup(home);
  await sink?.close();
});

test('metricsconfig: the token is printed once, on its own line, and only its hash is kept', async () => {
  const shown = await shellOk(home, 'metricsconfig', 'showconfig');
  assert.doesNotMatch(shown, new RegExp(token), 'neither metricsconfig nor showconfig shows the token');
  assert.match(shown, /Tokens: [0-9a-f]{8} \(made /);
  assert.match(shown, /\/metrics is served on: Management \(HTTPS on port \d+ with the demo certificate, \/metrics on\)/);
  assert.match(await shellOk(home, 'status'), new RegExp(`HTTPS \\(GUI\\): +Management https://127\\.0\\.0\\.1:${httpsPort}/ with certificate \\S+; Prometheus metrics at https://127\\.0\\.0\\.1:${httpsPort}/metrics`));
  const config = await readFile(path.join(home, 'configuration', 'current.json'), 'utf8').catch(() => '');
  assert.doesNotMatch(config, new RegExp(token));
});

test('/metrics without a token, with a wrong one, or with a cookie is refused; with the token it answers', async () => {
  const none = await scrape();
  assert.equal(none.status, 401);
  assert.match(String(none.headers['www-authenticate']), /^Bearer/);
  assert.doesNotMatch(none.body, /mxgate_/);
  const wrong = await scrape({ Authorization: `Bearer ${token.slice(0, -1)}x` });
  assert.equal(wrong.status, 401);
  assert.equal((await scrape({ Authorization: `Basic ${Buffer.from(`x:${token}`).toString('base64')}` })).status, 401);
  const ok = await scrape(bearer());
  assert.equal(ok.status, 200);
  assert.match(String(ok.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  assert.match(ok.body, /^# HELP mxgate_smtp_connections_total /m);
  assert.match(ok.body, /^mxgate_build_info\{version="[^"]+"\} 1$/m);
});

test('after real SMTP traffic the counts are those of the mail log', async () => {
  const before = (await scrape(bearer())).body;
  const mids: number[] = [];
  for (let i = 0; i < 3; i += 1) mids.push(await submitMail(smtpPort, [`a${i}@plain.test`, `b${i}@plain.test`], `metrics ${i}`));
  // A session that queues nothing is a connection all the same.
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect(smtpPort, '127.0.0.1');
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (d.startsWith('220') ? socket.write('QUIT\r\n') : d.startsWith('221') && socket.end()));
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
  await until(home, 'the deliveries', async () => {
    const log = await mailLog();
    return mids.every((mid) => log.includes(`Message finished MID ${mid} done`));
  });
  const log = await mailLog();
  const body = (await scrape(bearer())).body;
  const grew = (series: string) => sample(body, series) - sample(before, series);
  const count = (re: RegExp) => (log.match(re) ?? []).length;
  assert.equal(sample(body, 'mxgate_smtp_connections_total{listener="InboundMail"}'), count(/New SMTP ICID \d+ interface Management/g), 'connections: one per ICID in the mail log');
  assert.equal(sample(body, 'mxgate_messages_received_total{listener="InboundMail"}'), count(/MID \d+ queued for delivery/g), 'messages in: one per "queued for delivery"');
  assert.equal(grew('mxgate_messages_received_total{listener="InboundMail"}'), 3);
  assert.equal(grew('mxgate_smtp_connections_total{listener="InboundMail"}'), 4, 'three that sent mail and one that did not');
  const doneRecipients = [...log.matchAll(/Message done DCID \d+ MID \d+ to RID \[([\d,]+)\]/g)].reduce((n, m) => n + m[1]!.split(',').length, 0);
  assert.equal(sample(body, 'mxgate_delivery_recipients_total{outcome="delivered"}'), doneRecipients, 'delivered recipients: the RIDs of the "Message done" lines');
  assert.equal(grew('mxgate_delivery_recipients_total{outcome="delivered"}'), 6);
  assert.equal(grew('mxgate_messages_finished_total{listener="InboundMail"}'), 3);
  assert.equal(grew('mxgate_delivery_tls_total{tls="clear"}'), 3, 'one session per message and domain, in clear (TLS No)');
  assert.equal(grew('mxgate_delivery_delay_seconds_count{outcome="delivered"}'), 6);
  assert.equal(grew('mxgate_delivery_attempt_duration_seconds_count'), 3);
  assert.ok(sample(body, 'mxgate_messages_received_bytes_total{listener="InboundMail"}') > 0);
  assert.equal(sample(body, 'mxgate_queue_messages'), 0, 'the queue is empty again');
  assert.equal(sample(body, 'mxgate_queue_oldest_message_age_seconds'), 0);
  assert.equal(sink.received.filter((m) => /Subject: metrics \d/.test(m.data)).length, 3);
});

test('a required TLS delivery to a host without STARTTLS counts as failed, with its reason, and the recipient as deferred', async () => {
  const before = (await scrape(bearer())).body;
  await shellOk(home, `smtproutes new strict.test 127.0.0.1:${sink.port}`, 'destconfig new strict.test --tls required', 'commit "strict"');
  const mid = await submitMail(smtpPort, 'user@strict.test', 'must be encrypted');
  await until(home, 'the deferral', async () => (await mailLog()).includes(`Delayed: MID ${mid} RID [0]`));
  const body = (await scrape(bearer())).body;
  const grew = (series: string) => sample(body, series) - sample(before, series);
  assert.equal(grew('mxgate_delivery_tls_total{tls="failed"}'), 1);
  assert.equal(grew('mxgate_delivery_tls_failures_total{reason="no STARTTLS"}'), 1);
  assert.equal(grew('mxgate_delivery_recipients_total{outcome="deferred"}'), 1);
  assert.equal(sink.received.filter((m) => m.data.includes('Subject: must be encrypted')).length, 0, 'nothing in clear');
  await shellOk(home, `bouncerecipients --mid ${mid}`);
});

test('a message that waits shows in the queue gauges; certificates in use show their expiry', async () => {
  // No route and no resolver: the message stays queued.
  const mid = await submitMail(smtpPort, 'user@example.net', 'waits');
  const body = await until(home, 'the queue gauge', async () => {
    const b = (await scrape(bearer())).body;
    return sample(b, 'mxgate_queue_messages') >= 1 ? b : undefined;
  });
  assert.ok(sample(body, 'mxgate_queue_oldest_message_age_seconds') >= 0);
  assert.ok(sample(body, 'mxgate_queue_bytes') > 0);
  const expiry = /^mxgate_certificate_expiry_seconds\{profile="([^"]+)",certificate="leaf"\} (-?\d+)$/m.exec(body);
  assert.ok(expiry, `a certificate in use has its expiry:\n${body.split('\n').filter((l) => l.includes('certificate')).join('\n')}`);
  assert.ok(Number(expiry[2]) > 86400, 'the demo certificate is valid for more than a day');
  await shellOk(home, `bouncerecipients --mid ${mid}`);
});

test('an allowed address reads without a token; metrics off on the interface is no page at all', async () => {
  await shellOk(home, 'metricsconfig allow 127.0.0.0/8', 'commit "allow loopback"');
  assert.equal((await scrape()).status, 200);
  await shellOk(home, 'metricsconfig allow ::1', 'commit "only ::1"');
  assert.equal((await scrape()).status, 401, '127.0.0.1 is not ::1');
  await shellOk(home, 'interfaceconfig edit Management --metrics off', 'commit "metrics off"');
  const off = await scrape(bearer());
  assert.equal(off.status, 404);
  await shellOk(home, 'interfaceconfig edit Management --metrics on', 'commit "metrics on"');
  assert.equal((await scrape(bearer())).status, 200);
});

test('bad input is refused with one line and changes nothing', async () => {
  for (const [line, why] of [
    ['metricsconfig allow 300.1.1.1', /"300\.1\.1\.1" is not an IPv4 or IPv6 address/],
    ['metricsconfig allow 10.0.0.0/33', /not a valid CIDR range/],
    ['metricsconfig token delete abcdef12', /No metrics token "abcdef12"/],
    ['metricsconfig token old', /Usage: metricsconfig/],
    ['interfaceconfig edit Management --metrics maybe', /--metrics must be on or off/],
  ] as const) {
    const run = await mxgate(home, ['-c', line]);
    assert.notEqual(run.code, 0, line);
    assert.match(run.stdout + run.stderr, why, line);
    assert.doesNotMatch(run.stdout + run.stderr, /\n\s+at /, 'no stack trace');
  }
  const newIface = await mxgate(home, ['-c', 'interfaceconfig new Other --ip 127.0.0.9', '-c', 'interfaceconfig edit Other --metrics on']);
  assert.notEqual(newIface.code, 0);
  assert.match(newIface.stdout + newIface.stderr, /turn HTTPS on first/);
  // Turning HTTPS off takes /metrics with it; the token still works after a new one is added and the first deleted.
  const id = /Tokens: ([0-9a-f]{8})/.exec(await shellOk(home, 'metricsconfig'))![1]!;
  const out = await shellOk(home, 'metricsconfig token new', `metricsconfig token delete ${id}`, 'commit "new token"');
  const fresh = /^(mxgm_\S+)$/m.exec(out)![1]!;
  assert.equal((await scrape(bearer())).status, 401, 'the deleted token no longer works');
  assert.equal((await scrape({ Authorization: `Bearer ${fresh}` })).status, 200);
  token = fresh;
});
