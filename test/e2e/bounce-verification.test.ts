import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import nodemailer from 'nodemailer';
import { applianceWithListener, cleanup, mxgate, shellOk, until as untilIn } from '../helpers.js';
import { type Sink, smtpSink } from '../sink.js';
import { SmtpProbe } from '../smtp-probe.js';

/**
 * Bounce verification (bvconfig) through the real engine: mail to example.net leaves with a tagged
 * envelope sender; bounces come back to the listener over SMTP, and only those with a tag that
 * verifies reach the (untagged) address.
 */
let home: string;
let port: number;
let sink: Sink;
const until = <T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false) => untilIn(home, what, probe);
const mailLog = () => readFile(path.join(home, 'logs', 'mail_logs', 'mail.current'), 'utf8');

/** One message from alice@example.com (a local user: example.com is in the listener's RAT). */
async function sendFromAlice(to: string, subject: string): Promise<void> {
  const t = nodemailer.createTransport({ host: '127.0.0.1', port, ignoreTLS: true });
  try {
    await t.sendMail({ from: 'alice@example.com', to, subject, text: 'hello\n' });
  } finally {
    t.close();
  }
}

/** A bounce (MAIL FROM:<>) to `rcpt`: the RCPT reply, and the DATA reply when the recipient was taken. */
async function bounceTo(rcpt: string): Promise<{ rcpt: string; data?: string }> {
  const { probe } = await SmtpProbe.connect(port);
  try {
    await probe.send('EHLO bouncer.test');
    assert.match(await probe.send('MAIL FROM:<>'), /^250/);
    const rcptReply = await probe.send(`RCPT TO:<${rcpt}>`);
    if (!rcptReply.startsWith('250')) return { rcpt: rcptReply };
    await probe.send('DATA');
    return { rcpt: rcptReply, data: await probe.send(`Subject: bounce for ${rcpt}\r\n\r\nyour message could not be delivered\r\n.`) };
  } finally {
    await probe.send('QUIT').catch(() => undefined);
  }
}

before(async () => {
  ({ home, port } = await applianceWithListener());
  sink = await smtpSink();
  await shellOk(home, `smtproutes new example.net 127.0.0.1:${sink.port}`, `smtproutes new example.com 127.0.0.1:${sink.port}`, 'commit "routes"');
});
after(async () => {
  await cleanup(home);
  await sink?.close();
});

test('mail to a destination with bounce verification leaves with a BATV tag; its bounce comes back to the untagged address; forged and untagged bounces are refused where the policy says so', async () => {
  // Without keys nothing is tagged, whatever the destination says.
  await shellOk(home, 'destconfig new example.net --tls no --bounce-verification yes', 'commit "tagging without keys"');
  await sendFromAlice('bob@example.net', 'before keys');
  const plain = await until('the first message', () => sink.received.find((m) => m.data.includes('Subject: before keys')));
  assert.equal(plain.from, 'alice@example.com');

  const made = await shellOk(home, 'bvconfig new', 'bvconfig list', 'commit "a tagging key"');
  assert.match(made, /New tagging key [0-9a-f]{8} \(tag digit 0\)/);
  assert.match(made, /1\. key [0-9a-f]{8} \(tag digit 0\), created .*\[tags new mail\]\nTagged destinations: example\.net/);
  await sendFromAlice('bob@example.net', 'tagged');
  const tagged = await until('the tagged message', () => sink.received.find((m) => m.data.includes('Subject: tagged')));
  assert.match(tagged.from, /^prvs=0\d{3}[0-9a-f]{6}=alice@example\.com$/);
  // Other destinations are not tagged.
  await sendFromAlice('carol@example.com', 'not tagged');
  assert.equal((await until('the untagged message', () => sink.received.find((m) => m.data.includes('Subject: not tagged')))).from, 'alice@example.com');

  // The bounce to the tagged address is taken and delivered to alice@example.com, without the tag.
  const back = await bounceTo(tagged.from);
  assert.match(back.rcpt, /^250/);
  assert.match(back.data ?? '', /^250/);
  const returned = await until('the bounce delivered to alice', () => sink.received.find((m) => m.data.includes(`Subject: bounce for ${tagged.from}`)));
  assert.deepEqual(returned.to, ['alice@example.com']);
  assert.match(await mailLog(), /To: <alice@example\.com> \(bounce verification tag valid\)/);

  // A forged tag (the signature changed) and a tag of a key that is not kept are refused.
  const forged = tagged.from.replace(/^(prvs=0\d{3})([0-9a-f]{6})/, (_m, head: string, sig: string) => `${head}${sig[0] === 'a' ? 'b' : 'a'}${sig.slice(1)}`);
  assert.match((await bounceTo(forged)).rcpt, /^550 5\.7\.1 Bounce verification failed: the address tag is the signature does not match/);
  assert.match((await bounceTo(tagged.from.replace(/^prvs=0/, 'prvs=7'))).rcpt, /^550 5\.7\.1 Bounce verification failed: the address tag is made with a key that is no longer kept/);
  assert.match(await mailLog(), /Rejected by bounce verification: Bounce verification failed/);

  // Untagged bounces: accepted by default; refused once the policy says so.
  assert.match((await bounceTo('alice@example.com')).rcpt, /^250/);
  await shellOk(home, 'listenerconfig edit InboundMail hostaccess default --accept-untagged-bounces no', 'commit "no untagged bounces"');
  assert.match((await bounceTo('alice@example.com')).rcpt, /^550 5\.7\.1 Untagged bounces are not accepted here/);
  // Mail with a sender is no bounce: untouched by the setting.
  await sendFromAlice('alice@example.com', 'an ordinary message');
  await until('the ordinary message', () => sink.received.find((m) => m.data.includes('Subject: an ordinary message')));

  // A new key tags from now on; the old one still verifies until purged.
  await shellOk(home, 'bvconfig new', 'commit "second key"');
  assert.match((await bounceTo(tagged.from)).rcpt, /^250/, 'the older key still verifies');
  await sendFromAlice('bob@example.net', 'second key');
  assert.match((await until('tagged with the new key', () => sink.received.find((m) => m.data.includes('Subject: second key')))).from, /^prvs=1\d{3}[0-9a-f]{6}=alice@example\.com$/);
  await shellOk(home, 'bvconfig purge', 'commit "older keys purged"');
  assert.match((await bounceTo(tagged.from)).rcpt, /^550 5\.7\.1 Bounce verification failed: the address tag is made with a key that is no longer kept/);

  // Without keys, bounce verification is off: untagged bounces are accepted again.
  await shellOk(home, 'bvconfig clear', 'commit "no keys"');
  assert.match((await bounceTo('alice@example.com')).rcpt, /^250/);
});

test('bvconfig keys are secrets: never shown by showconfig, saveconfig or the change list', async () => {
  const r = await shellOk(home, 'bvconfig new', 'showchanges', 'showconfig');
  assert.match(r, /bvconfig:\n {2}bounce verification tagging key [0-9a-f]{8} added: .*tag key \(secret\)/, 'showchanges names the key, never its value');
  assert.match(r, /bvconfig:\n {2}bounce verification: no tagging keys \(nothing is tagged\)/, 'showconfig: the committed state (all cleared)');
  assert.doesNotMatch(r, /[0-9a-f]{64}/, 'no key material on screen');
  const bad = await mxgate(home, ['-c', 'bvconfig purge']);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout + bad.stderr, /There are no older keys to purge\./);
  await shellOk(home, 'clearchanges');
});

test('bvconfig setup --invalid-bounces header: a bounce that fails verification is delivered, without its tag, with a header that says why', async () => {
  const shown = await shellOk(home, 'bvconfig new', 'bvconfig setup --invalid-bounces header', 'bvconfig list', 'commit "flag invalid bounces"');
  assert.match(shown, /Bounces that fail verification: Add a custom header \(X-Bounce-Verification\) and deliver/);
  const forged = 'prvs=0123abcdef=alice@example.com';
  const r = await bounceTo(forged);
  assert.match(r.rcpt, /^250/);
  assert.match(r.data ?? '', /^250/);
  const flagged = await until('the flagged bounce', () => sink.received.find((m) => m.data.includes(`Subject: bounce for ${forged}`)));
  assert.deepEqual(flagged.to, ['alice@example.com'], 'to the address without its tag');
  assert.match(flagged.data, /^X-Bounce-Verification: failed; <prvs=0123abcdef=alice@example\.com>: Bounce verification failed: the address tag is (expired|the signature does not match)\r\n/m);
  // The listener still refuses untagged bounces (set in the first test): now they are flagged too.
  assert.match((await bounceTo('alice@example.com')).rcpt, /^250/);
  const untagged = await until('the flagged untagged bounce', () => sink.received.find((m) => m.data.includes('Subject: bounce for alice@example.com') && m.data.includes('X-Bounce-Verification')));
  assert.match(untagged.data, /X-Bounce-Verification: failed; <alice@example\.com>: Untagged bounces are not accepted here/);
  assert.match(await mailLog(), /To: <alice@example\.com> \(bounce verification failed: Untagged bounces are not accepted here; taken with a X-Bounce-Verification header\)/);
  const bad = await mxgate(home, ['-c', 'bvconfig setup --invalid-bounces sometimes']);
  assert.match(bad.stdout + bad.stderr, /--invalid-bounces is reject or header, not "sometimes"\./);
});
