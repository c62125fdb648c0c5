import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { applianceWithListener, cleanup, shellOk } from '../helpers.js';
import { SmtpProbe } from '../smtp-probe.js';

/** A message is on disk while it arrives; an aborted or oversized one leaves nothing behind. */
let home: string;
let port: number;
before(async () => {
  ({ home, port } = await applianceWithListener());
  await shellOk(home, 'listenerconfig edit InboundMail hostaccess default --max-message-size 3000000', 'commit "3 MB"');
});
after(() => cleanup(home));

const partials = async () => (await readdir(path.join(home, 'queue'))).filter((n) => /^\.\d+\.eml\.\d+\.[0-9a-f]+\.tmp$/.test(n));
const line = 'x'.repeat(76) + '\r\n';
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startData(): Promise<SmtpProbe> {
  const { probe } = await SmtpProbe.connect(port);
  await probe.send('EHLO big.example');
  await probe.send('MAIL FROM:<a@example.org>');
  await probe.send('RCPT TO:<u@example.com>');
  assert.match(await probe.send('DATA'), /^354 /);
  return probe;
}

/** Poll (an event on disk, not a fixed time: a loaded machine is slow) until `probe` gives a value, for at most `ms`. */
async function poll<T>(probe: () => Promise<T | undefined>, ms = 15_000): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined || Date.now() > deadline) return v;
    await wait(50);
  }
}

test('the message is written to the queue while it arrives, and queued only at the final dot', async () => {
  const probe = await startData();
  try {
    probe.write('Subject: streamed\r\n\r\n' + line.repeat(25_000)); // ~2 MB, no final dot yet
    const file = await poll(async () => (await partials())[0]);
    assert.ok(file, 'a partial file exists during the transfer');
    const size = async () => (await stat(path.join(home, 'queue', file)).catch(() => ({ size: 0 }))).size;
    assert.ok(await poll(async () => ((await size()) > 1_000_000 ? true : undefined)), 'it already holds what arrived before the final dot');
    assert.equal((await partials()).length, 1);
    probe.write('.\r\n');
    const reply = await probe.reply(15_000);
    const mid = /MID (\d+)/.exec(reply)?.[1];
    assert.match(reply, /^250 Ok: Message MID \d+ accepted$/);
    assert.deepEqual(await partials(), []);
    assert.ok((await stat(path.join(home, 'queue', `${mid}.msg`))).size > 1_900_000);
  } finally {
    probe.close();
  }
});

test('a connection lost mid-message and an oversized message leave no file behind', async () => {
  const lost = await startData();
  lost.write('Subject: lost\r\n\r\n' + line.repeat(5_000));
  assert.ok(await poll(async () => ((await partials()).length ? true : undefined)), 'the partial file exists while the message arrives');
  lost.close();
  await poll(async () => ((await partials()).length === 0 ? true : undefined));
  assert.deepEqual(await partials(), [], 'the partial file of the lost connection is removed');

  const big = await startData();
  big.write('Subject: too big\r\n\r\n' + line.repeat(50_000) + '.\r\n'); // ~3.9 MB > 3 MB
  assert.match(await big.reply(10_000), /^552 5\.3\.4 Message size exceeds fixed maximum message size \(3000000 bytes\)$/);
  assert.deepEqual(await partials(), []);
  big.close();
});
