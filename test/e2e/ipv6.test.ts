import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import nodemailer from 'nodemailer';
import { testDnsServer } from '../dns-server.js';
import { applianceWithListener, cleanup, freePort, shellOk, submitMail, until as untilIn } from '../helpers.js';
import { type Sink, smtpSink } from '../sink.js';
import { SmtpProbe } from '../smtp-probe.js';

/**
 * IPv6 end to end on ::1: a listener on an IPv6 interface, IPv6 sender group entries, mail-log
 * lines with IPv6 addresses, an SMTP route to an IPv6 literal, and delivery to AAAA records with
 * the destination's IP sort preference (dual-stack and IPv6-only hosts, fallback, Require).
 */

let home: string;
let port: number;
let v6Port: number;
let dns: Awaited<ReturnType<typeof testDnsServer>>;
const sinks: Sink[] = [];
/** One port, a sink on each family: which one got a message says which family carried it. */
let dualPort: number;
let onV4: Sink;
let onV6: Sink;
let literal: Sink;

const log = () => readFile(path.join(home, 'logs', 'mail_logs', 'mail.current'), 'utf8');
const until = <T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false) => untilIn(home, what, probe);
const got = (sink: Sink, subject: string) => sink.received.find((m) => m.data.includes(`Subject: ${subject}`));
const shell = (...lines: string[]) => shellOk(home, ...lines);

before(async () => {
  onV4 = await smtpSink();
  dualPort = onV4.port;
  onV6 = await smtpSink({ host: '::1', port: dualPort });
  literal = await smtpSink({ host: '::1' });
  sinks.push(onV4, onV6, literal);
  dns = await testDnsServer({
    'dual.v6lab.test': { A: ['127.0.0.1'], AAAA: ['::1'] },
    'only6.v6lab.test': { AAAA: ['::1'] },
  });
  ({ home, port } = await applianceWithListener());
  v6Port = await freePort();
  await shell(
    'interfaceconfig new Loop6 --ip ::1',
    `listenerconfig new V6Mail --type public --interface Loop6 --port ${v6Port} --domains example.net`,
    'listenerconfig edit InboundMail rcptaccess add .test',
    `dnsconfig servers 127.0.0.1:${dns.port}`,
    'dnsconfig validation resolver', // the test server stands in for a validating resolver
    `smtproutes new example.net [::1]:${literal.port}`,
    `smtproutes new dual.test dual.v6lab.test:${dualPort}`,
    `smtproutes new only6.test only6.v6lab.test:${dualPort}`,
    'commit "IPv6"',
  );
});

after(async () => {
  await cleanup(home);
  await dns.close();
  await Promise.all(sinks.map((s) => s.close()));
});

test('a listener on ::1 takes mail; the log and the Received header carry the IPv6 address; delivery follows an SMTP route to [::1]', async () => {
  const t = nodemailer.createTransport({ host: '::1', port: v6Port, ignoreTLS: true });
  const info = await t.sendMail({ from: 'sender@example.org', to: 'rcpt@example.net', subject: 'over ipv6', text: 'hello\n' });
  t.close();
  const mid = Number(/MID (\d+)/.exec(info.response)![1]);
  const message = await until('the message at the IPv6 peer', () => got(literal, 'over ipv6'));
  assert.match(message.data, /^Received: from \S+ \(\[IPv6:::1\]\)/m, 'RFC 5321 IPv6 address literal');
  // The peer may have the message before the mail log has its last line.
  const text = await until('the delivery logged', async () => {
    const t = await log();
    return new RegExp(`Message done DCID \\d+ MID ${mid} `).test(t) && t;
  });
  assert.match(text, /New SMTP ICID \d+ interface Loop6 \(::1\) address ::1 /);
  assert.match(text, /ACCEPT SG ALL match ::1 /);
  assert.match(text, new RegExp(`New SMTP DCID \\d+ interface ::1 address ::1 port ${literal.port}`));
  assert.match(text, new RegExp(`Message done DCID \\d+ MID ${mid} `));
});

test('sender groups match IPv6 addresses and prefixes', async () => {
  await shell('listenerconfig edit V6Mail hostaccess group BLOCKLIST add ::1/128', 'commit "block ::1"');
  const refused = await SmtpProbe.connect(v6Port, '::1');
  assert.match(refused.greeting, /^554 5\.7\.1 /);
  refused.probe.close();
  await until('the REJECT line', async () => /REJECT SG BLOCKLIST match ::1 /.test(await log()));
  await shell('listenerconfig edit V6Mail hostaccess group BLOCKLIST delete ::1/128', 'listenerconfig edit V6Mail hostaccess group ALLOWLIST add 0:0:0:0:0:0:0:1', 'commit "trust ::1"');
  const trusted = await SmtpProbe.connect(v6Port, '::1');
  assert.match(trusted.greeting, /^220 /);
  trusted.probe.close();
  await until('the ALLOWLIST match', async () => /ACCEPT SG ALLOWLIST match ::1 /.test(await log()));
});

test('a dual-stack host: IPv6 first by default, IPv4 with "--ip-sort prefer-ipv4"', async () => {
  await submitMail(port, 'a@dual.test', 'default prefers v6');
  await until('delivery over IPv6', () => got(onV6, 'default prefers v6'));
  assert.equal(got(onV4, 'default prefers v6'), undefined);

  await shell('destconfig new dual.test --ip-sort prefer-ipv4', 'commit "prefer v4"');
  await submitMail(port, 'a@dual.test', 'prefer v4');
  await until('delivery over IPv4', () => got(onV4, 'prefer v4'));
  assert.equal(got(onV6, 'prefer v4'), undefined);
});

test('Prefer IPv6 falls back to IPv4 when IPv6 fails; Require IPv6 does not', async () => {
  await onV6.close();
  await shell('destconfig edit dual.test --ip-sort prefer-ipv6', 'commit "prefer v6"');
  await submitMail(port, 'a@dual.test', 'fallback to v4');
  await until('delivery over IPv4 after IPv6 failed', () => got(onV4, 'fallback to v4'));
  await until('the failed IPv6 connection logged', async () => new RegExp(`connection failed: ::1:${dualPort}: `).test(await log()));

  await shell('destconfig edit dual.test --ip-sort require-ipv6', 'commit "require v6"');
  const mid = await submitMail(port, 'a@dual.test', 'ipv6 or nothing');
  await until('the deferral', async () => new RegExp(`Delayed: MID ${mid} RID \\[0\\] - ::1:${dualPort}: `).test(await log()));
  assert.equal(got(onV4, 'ipv6 or nothing'), undefined, 'never over IPv4');
});

test('an IPv6-only host: delivered over IPv6; Require IPv4 finds no address and says so', async () => {
  const v6only = await smtpSink({ host: '::1', port: dualPort });
  sinks.push(v6only);
  await submitMail(port, 'b@only6.test', 'v6 only host');
  await until('delivery to the IPv6-only host', () => got(v6only, 'v6 only host'));

  await shell('destconfig new only6.test --ip-sort require-ipv4', 'commit "require v4"');
  const mid = await submitMail(port, 'b@only6.test', 'no ipv4 there');
  await until('the deferral', async () => new RegExp(`Delayed: MID ${mid} RID \\[0\\] - no IPv4 address \\(IP sort preference require-ipv4\\) among the SMTP route hosts of only6\\.test \\(only6\\.v6lab\\.test has no IPv4 address\\)`).test(await log()));
  assert.equal(got(v6only, 'no ipv4 there'), undefined);
});
