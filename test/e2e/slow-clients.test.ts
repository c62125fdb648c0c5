import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { applianceWithListener, cleanup, sendMail, shellOk, waitForLog } from '../helpers.js';
import { SmtpProbe } from '../smtp-probe.js';

/**
 * Slow clients cannot hold the listener: deadlines per command, per message transfer and per
 * session, which a trickle of bytes does not reset. Short limits here; the defaults are 60 s,
 * 600 s and 1800 s.
 */
let home: string;
let port: number;
before(async () => {
  ({ home, port } = await applianceWithListener());
  await shellOk(
    home,
    'listenerconfig edit InboundMail limits --command-timeout 2 --data-timeout 3 --session-timeout 8',
    'listenerconfig edit InboundMail hostaccess default --max-concurrency 20',
    'commit "short deadlines"',
  );
});
after(() => cleanup(home));

/** A client that sends one byte every `everyMs` and never finishes a line; resolves with what it was told. */
function trickler(localAddress: string, everyMs: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress });
    let heard = '';
    const timer = setInterval(() => socket.write('E'), everyMs);
    socket.on('data', (d) => (heard += d.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve(heard);
    });
    setTimeout(() => socket.destroy(), 30_000).unref();
  });
}

test('80 trickling connections from 8 addresses: each is closed at the command deadline, and a normal client is served', async () => {
  const slow: Promise<string>[] = [];
  for (let a = 0; a < 8; a++) for (let i = 0; i < 10; i++) slow.push(trickler(`127.0.0.${20 + a}`, 500));
  await new Promise((r) => setTimeout(r, 300));
  const t0 = Date.now();
  let served: string | undefined;
  while (!served && Date.now() - t0 < 15_000) {
    try {
      served = (await sendMail(port, 'a normal client')).response;
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  assert.match(served ?? 'never served', /^250 /, 'the normal client got its message in');
  const heard = await Promise.all(slow);
  const closedByDeadline = heard.filter((h) => /421 4\.4\.2 Command time limit exceeded/.test(h)).length;
  const refusedAtConnect = heard.filter((h) => /^421 .*(Too many|concurrent)/m.test(h)).length;
  assert.equal(closedByDeadline + refusedAtConnect, 80, `every slow client was closed: ${heard.filter((h) => !/421/.test(h)).slice(0, 3).join(' | ')}`);
  assert.ok(closedByDeadline >= 50, `the ones that got in were closed at the deadline (${closedByDeadline})`);
  await waitForLog(home, /ICID \d+ 127\.0\.0\.2\d exceeded the command time limit \(2 s\); closing with 421/);
});

test('a message trickled after 354 is cut at the DATA deadline; a chatty session at the session deadline', async () => {
  const { probe } = await SmtpProbe.connect(port);
  await probe.send('EHLO slow.example');
  await probe.send('MAIL FROM:<a@example.org>');
  await probe.send('RCPT TO:<u@example.com>');
  assert.match(await probe.send('DATA'), /^354 /);
  const drip = setInterval(() => probe.write('x'), 200);
  assert.equal(await probe.reply(6000), '421 4.4.2 Message transfer time limit exceeded, closing connection');
  clearInterval(drip);
  probe.close();

  const chatty = await SmtpProbe.connect(port);
  const started = Date.now();
  let last = '';
  while (Date.now() - started < 12_000 && !last.startsWith('421')) {
    last = await chatty.probe.send('NOOP').catch(() => '421 closed');
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.equal(last, '421 4.4.2 Session time limit exceeded, closing connection');
  assert.ok(Date.now() - started >= 7000, 'complete commands in time do not end the session early');
  chatty.probe.close();
});

test('listenerconfig checks the limits and the EDIT dialog shows them', async () => {
  const { mxgate } = await import('../helpers.js');
  const bad = await mxgate(home, ['-c', 'listenerconfig edit InboundMail limits --command-timeout soon']);
  assert.equal(bad.code, 1);
  assert.doesNotMatch(bad.stdout + bad.stderr, /\n\s+at /);
  await shellOk(home, 'listenerconfig edit InboundMail limits --command-timeout 60 --data-timeout 600 --session-timeout 1800', 'commit "defaults back"');
  const dialog = await mxgate(home, [], ['listenerconfig', 'edit', '1', '', ''].join('\n') + '\n');
  assert.match(dialog.stdout, /Timeouts: 60 s per command, 600 s per message \(DATA\), 1800 s per session/);
});
