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

test('the message is written to the queue while it arrives, and queued only at the final dot', async () => {
  const probe = await startData();
  probe.write('Subject: streamed\r\n\r\n' + line.repeat(25_000)); // ~2 MB, no final dot yet
  let files: string[] = [];
  for (let i = 0; i < 100 && !files.length; i++) {
    await wait(50);
    files = await partials();
  }
  assert.equal(files.length, 1, 'a partial file exists during the transfer');
  await wait(300);
  assert.ok((await stat(path.join(home, 'queue', files[0]!))).size > 1_000_000, 'it already holds what arrived');
  probe.write('.\r\n');
  const reply = await probe.reply(10_000);
  const mid = /MID (\d+)/.exec(reply)?.[1];
  assert.match(reply, /^250 Ok: Message MID \d+ accepted$/);
  assert.deepEqual(await partials(), []);
  assert.ok((await stat(path.join(home, 'queue', `${mid}.eml`))).size > 1_900_000);
  probe.close();
});

test('a connection lost mid-message and an oversized message leave no file behind', async () => {
  const lost = await startData();
  lost.write('Subject: lost\r\n\r\n' + line.repeat(5_000));
  await wait(300);
  lost.close();
  for (let i = 0; i < 50 && (await partials()).length; i++) await wait(50);
  assert.deepEqual(await partials(), [], 'the partial file of the lost connection is removed');

  const big = await startData();
  big.write('Subject: too big\r\n\r\n' + line.repeat(50_000) + '.\r\n'); // ~3.9 MB > 3 MB
  assert.match(await big.reply(10_000), /^552 5\.3\.4 Message size exceeds fixed maximum message size \(3000000 bytes\)$/);
  assert.deepEqual(await partials(), []);
  big.close();
});
