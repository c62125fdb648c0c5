import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { applianceWithListener, cleanup, freePort, mxgate, shellOk, submitMail, until, GUIDE_DESTINATION_DEFAULTS } from '../helpers.js';
import { opensslChain } from '../pki-fixtures.js';
import { type Sink, smtpSink } from '../sink.js';
import { type SyslogReceiver, syslogReceiver } from '../syslog-receiver.js';

/**
 * logconfig --syslog end to end: the mail log's lines reach a syslog server as RFC 5424 messages,
 * every one and in order, over TCP, TLS (verified against the trusted CA lists) and UDP; a server
 * that is down holds up no mail, and what was written meanwhile reaches it once it is back.
 */
let home: string;
let smtpPort: number;
let sink: Sink;
const receivers: SyslogReceiver[] = [];
const chain = opensslChain();

/** The mail log's lines as "Level: text" (the ctime stamp taken off). */
const fileLines = async () =>
  (await readFile(path.join(home, 'logs', 'mail_logs', 'mail.current'), 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} /, ''));

const receive = async (kind: Parameters<typeof syslogReceiver>[0], port?: number) => {
  const r = await syslogReceiver(kind, port);
  receivers.push(r);
  return r;
};

/** Wait until the receiver has a line matching `pattern`. */
const got = (r: SyslogReceiver, pattern: RegExp, what: string) => until(home, what, () => r.messages.find((m) => pattern.test(m.text)), 20_000);

/** From the line matching `from` on, the receiver has exactly the mail log's lines, in order. */
async function sameLines(r: SyslogReceiver, from: RegExp): Promise<number> {
  const file = await fileLines();
  const start = file.findIndex((l) => from.test(l));
  assert.ok(start >= 0, `the mail log has ${from}`);
  const expected = file.slice(start);
  await until(home, 'every line at the receiver', () => r.messages.some((m) => m.text === expected[expected.length - 1]), 20_000);
  const pushed = r.messages.map((m) => m.text);
  const first = pushed.findIndex((t) => from.test(t));
  assert.ok(first >= 0, `the receiver got ${from}`);
  assert.deepEqual(pushed.slice(first, first + expected.length), expected);
  return expected.length;
}

before(async () => {
  ({ home, port: smtpPort } = await applianceWithListener());
  sink = await smtpSink();
  await shellOk(home, GUIDE_DESTINATION_DEFAULTS, 'listenerconfig edit InboundMail rcptaccess add .test', `smtproutes new plain.test 127.0.0.1:${sink.port}`, 'commit routes');
});
after(async () => {
  await cleanup(home);
  await sink?.close();
  await Promise.all(receivers.map((r) => r.close()));
});

test('tcp://: every mail log line reaches the server as RFC 5424 (facility mail), in order', async () => {
  const r = await receive('tcp');
  const out = await shellOk(home, `logconfig mail_logs --syslog tcp://127.0.0.1:${r.port}`, 'commit "push the mail log"', 'logconfig');
  assert.match(out, new RegExp(`mail_logs will also be pushed to tcp://127\\.0\\.0\\.1:${r.port}`));
  assert.match(out, new RegExp(`Syslog push: tcp://127\\.0\\.0\\.1:${r.port}`));
  const mids: number[] = [];
  for (let i = 0; i < 3; i += 1) mids.push(await submitMail(smtpPort, `u${i}@plain.test`, `pushed ${i}`));
  await got(r, new RegExp(`Message finished MID ${mids[2]} done`), 'the last delivery line');
  const n = await sameLines(r, /Configuration version \d+ committed by \S+: push the mail log/);
  assert.ok(n > 10, `many lines (${n})`);
  const info = r.messages.find((m) => m.text.startsWith('Info: '))!;
  assert.equal(info.pri, 2 * 8 + 6, 'facility mail, severity informational');
  assert.equal(info.app, 'mxgate');
  assert.equal(info.msgid, 'mail_logs');
  assert.deepEqual(r.errors, []);
});

test('a server that is down holds up no mail; the lines written meanwhile arrive in order once it is back', async () => {
  const port = await freePort();
  let r = await receive('tcp', port);
  await shellOk(home, `logconfig mail_logs --syslog tcp://127.0.0.1:${port}`, 'commit "push to a server that will go down"');
  await got(r, /push to a server that will go down/, 'the commit line');
  await r.close();
  const mids: number[] = [];
  for (let i = 0; i < 3; i += 1) mids.push(await submitMail(smtpPort, `down${i}@plain.test`, `while down ${i}`));
  await until(home, 'the deliveries while the server is down', () => sink.received.filter((m) => /Subject: while down \d/.test(m.data)).length === 3);
  const warned = await until(home, 'the warning', async () => (await fileLines()).find((l) => l.includes(`Syslog push of mail_logs to tcp://127.0.0.1:${port} failed`)));
  assert.match(warned, /^Warning: .*lines wait/);
  assert.match(await shellOk(home, 'status'), new RegExp(`Syslog push: +mail_logs to tcp://127\\.0\\.0\\.1:${port}: NOT REACHABLE \\(.+\\), \\d+ line\\(s\\) waiting`));
  r = await receive('tcp', port);
  await got(r, new RegExp(`Message finished MID ${mids[2]} done`), 'the lines written while the server was down');
  // Everything from the first delivery while down on is there, in order.
  await sameLines(r, new RegExp(`MID ${mids[0]} ICID \\d+ From: `));
  await got(r, /the receiver is reachable again/, 'the line that says it is back');
  assert.match(await shellOk(home, 'status'), new RegExp(`Syslog push: +mail_logs to tcp://127\\.0\\.0\\.1:${port}: sending`));
});

test('tcp+tls://: the server must present a certificate from the trusted CA lists for its address', async () => {
  const leaf = chain.issueWithKey('syslog.test', [], 365, { extensions: ['subjectAltName=IP:127.0.0.1'] });
  const trusted = await receive({ tls: { key: leaf.key, cert: `${leaf.cert}${chain.intermediate}` } });
  await writeFile(path.join(home, 'configuration', 'root.pem'), chain.root);
  // Before the root is trusted, the push refuses the server.
  await shellOk(home, `logconfig mail_logs --syslog tcp+tls://127.0.0.1:${trusted.port}`, 'commit "push over TLS, untrusted"');
  await until(home, 'the refusal', async () => (await fileLines()).find((l) => l.includes(`Syslog push of mail_logs to tcp+tls://127.0.0.1:${trusted.port} failed`)));
  assert.equal(trusted.messages.length, 0, 'nothing went to a server whose certificate is not trusted');
  await shellOk(home, 'certconfig certauthority custom import --file root.pem', 'certconfig certauthority custom enable', 'commit "trust the test root"');
  await got(trusted, /Configuration version \d+ committed by \S+: trust the test root/, 'the lines over TLS');
  const mid = await submitMail(smtpPort, 'tls@plain.test', 'over tls');
  await got(trusted, new RegExp(`Message finished MID ${mid} done`), 'the delivery lines over TLS');
  await sameLines(trusted, /trust the test root/);
});

test('udp://: one datagram per line', async () => {
  const r = await receive('udp');
  await shellOk(home, `logconfig mail_logs --syslog udp://127.0.0.1:${r.port}`, 'commit "push over UDP"');
  const mid = await submitMail(smtpPort, 'udp@plain.test', 'over udp');
  await got(r, new RegExp(`Message finished MID ${mid} done`), 'the lines over UDP');
  assert.ok(r.messages.some((m) => m.text.includes(`MID ${mid} queued for delivery`)));
  await shellOk(home, 'logconfig mail_logs --syslog none', 'commit "no push"');
  const before = r.messages.length;
  const quiet = await submitMail(smtpPort, 'quiet@plain.test', 'not pushed');
  await until(home, 'the delivery', async () => (await fileLines()).some((l) => l.includes(`Message finished MID ${quiet} done`)));
  assert.equal(r.messages.filter((m) => m.text.includes(`MID ${quiet} `)).length, 0, 'nothing after "none"');
  assert.ok(r.messages.length - before <= 2, 'at most the lines of the commit itself');
});

test('bad receivers and misplaced options are refused with one line', async () => {
  for (const [line, why] of [
    ['logconfig mail_logs --syslog http://127.0.0.1:514', /is not a syslog receiver: give tcp\+tls:\/\/HOST:PORT/],
    ['logconfig mail_logs --syslog tcp://127.0.0.1', /is not a syslog receiver/],
    ['logconfig mail_logs --syslog tcp://127.0.0.1:70000', /70000 is not a port/],
    ['logconfig mail_logs --syslog tcp://bad_host:514', /not a host name/],
    ['logconfig cli_logs --level debug', /cli_logs has only the syslog push to set/],
    ['logconfig maillogs --syslog none', /Name one log: mail_logs, cli_logs, gui_logs/],
  ] as const) {
    const run = await mxgate(home, ['-c', line]);
    assert.notEqual(run.code, 0, line);
    assert.match(run.stdout + run.stderr, why, line);
    assert.doesNotMatch(run.stdout + run.stderr, /\n\s+at /, 'no stack trace');
  }
  const ok = await shellOk(home, 'logconfig gui_logs --syslog udp://[::1]:5514', 'logconfig');
  assert.match(ok, /gui_logs: GUI audit log\n\s+Syslog push: udp:\/\/\[::1\]:5514/);
});
