import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, statfs, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, mxgate, sendMail, shellOk, stopEngine } from '../helpers.js';
import { SmtpProbe } from '../smtp-probe.js';

/**
 * A full disk, for real: the data directory is a 32 MB tmpfs mounted by the test (root, as in CI).
 * Below the free-space reserve new mail gets 452 4.3.1; with no space at all, new connections get
 * 421 4.3.2 and the engine stays up; when space returns everything works again, and nothing that
 * got a 250 is lost.
 */
let home: string;
let port: number;
const filler = () => path.join(home, 'filler');
const free = async () => {
  const s = await statfs(home);
  return s.bavail * s.bsize;
};
/** Leave `bytes` free on the tmpfs (a filler file takes the rest). */
async function leaveFree(bytes: number): Promise<void> {
  await rm(filler(), { force: true });
  const size = Math.max(0, (await free()) - bytes);
  await writeFile(filler(), Buffer.alloc(size));
}
async function fillCompletely(): Promise<void> {
  await rm(filler(), { force: true });
  try {
    await writeFile(filler(), Buffer.alloc(64 * 1024 * 1024));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
}

before(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'mxg-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=32m,mode=0700', 'tmpfs', home]);
  port = await freePort();
  await shellOk(home, `listenerconfig new InboundMail --type public --interface Management --port ${port}`, 'listenerconfig edit InboundMail rcptaccess add example.com', 'listenerconfig edit InboundMail rcptaccess add example.net', 'queueconfig --reserve 8', 'commit "disk"');
});
after(async () => {
  await stopEngine(home);
  execFileSync('umount', [home]);
  await rm(home, { recursive: true, force: true });
});

test('below the reserve: 452 4.3.1 at MAIL (never 5xx, no error text); status says so; acceptance resumes by itself', async () => {
  const { response } = await sendMail(port, 'before the disk fills');
  const mid = Number(/MID (\d+)/.exec(response)![1]);
  await leaveFree(4 * 1024 * 1024);
  const { probe, greeting } = await SmtpProbe.connect(port);
  assert.match(greeting, /^220 /);
  await probe.send('EHLO client.example');
  assert.equal(await probe.send('MAIL FROM:<a@example.org>'), '452 4.3.1 Insufficient system storage, try again later');
  probe.close();
  assert.match(await shellOk(home, 'status'), /Storage: +\d+ MB free, reserve 8 MB: NOT ACCEPTING new mail \(452 4\.3\.1\)/);
  await rm(filler());
  const again = await sendMail(port, 'after space returned');
  assert.match(again.response, /^250 /);
  assert.ok((await readdir(path.join(home, 'queue'))).includes(`${mid}.msg`), 'the message accepted before is still queued');
});

test('no space at all: new connections get 421 4.3.2, the engine stays up, and the log catches up when space returns', async () => {
  await fillCompletely();
  // Each refused connection is still logged; once the log's last block is full, writing fails.
  let s = await mxgate(home, ['-c', 'status']);
  for (let i = 0; i < 200 && !/Mail log: +cannot be written/.test(s.stdout); i++) {
    const { probe, greeting } = await SmtpProbe.connect(port);
    assert.equal(greeting, '421 4.3.2 System not accepting network messages, try again later');
    probe.close();
    if (i % 20 === 19) s = await mxgate(home, ['-c', 'status']);
  }
  assert.equal(s.code, 0, 'the engine answers');
  assert.match(s.stdout, /Mail log: +cannot be written since \S+: ENOSPC/);
  await rm(filler());
  // The retry clears the state without traffic; the lines kept in memory reach the file in order.
  const deadline = Date.now() + 10_000;
  while (!/Mail log: +ok/.test(await shellOk(home, 'status'))) {
    assert.ok(Date.now() < deadline, 'the mail log recovers by itself');
    await new Promise((r) => setTimeout(r, 200));
  }
  const { response } = await sendMail(port, 'after the disk was full');
  assert.match(response, /^250 /);
  const log = await readFile(path.join(home, 'logs', 'mail_logs', 'mail.current'), 'utf8');
  assert.match(log, /New SMTP ICID \d+ .*\n(.*\n)*.*New SMTP ICID/, 'the refused connection was logged once the disk had room');
  assert.match(await readFile(path.join(home, 'logs', 'engine.log'), 'utf8'), /the mail log cannot be written \(ENOSPC/);
});

test('a message that does not fit at DATA gets 452 4.3.1, not an internal error', async () => {
  await leaveFree(9 * 1024 * 1024); // above the reserve at MAIL; a 3 MB message leaves too little to write it twice
  await shellOk(home, 'queueconfig --reserve 0', 'commit "no reserve"');
  await leaveFree(1024 * 1024);
  const { probe } = await SmtpProbe.connect(port);
  await probe.send('EHLO client.example');
  assert.match(await probe.send('MAIL FROM:<a@example.org>'), /^250 /);
  assert.match(await probe.send('RCPT TO:<u@example.com>'), /^250 /);
  assert.match(await probe.send('DATA'), /^354 /);
  probe.write(`Subject: big\r\n\r\n${'x'.repeat(76).concat('\r\n').repeat(30_000)}.\r\n`);
  assert.equal(await probe.reply(15_000), '452 4.3.1 Insufficient system storage, try again later');
  probe.close();
  await rm(filler());
  await shellOk(home, 'queueconfig --reserve 8', 'commit "reserve back"');
});

test('the engine starts on a completely full disk (mail is refused for now) and accepts again when space returns', async () => {
  await stopEngine(home);
  await fillCompletely();
  const started = await mxgate(home, ['engine', 'start']);
  assert.equal(started.code, 0, started.stdout + started.stderr);
  const { probe, greeting } = await SmtpProbe.connect(port);
  assert.equal(greeting, '421 4.3.2 System not accepting network messages, try again later');
  probe.close();
  await rm(filler());
  const { response } = await sendMail(port, 'after a start on a full disk');
  assert.match(response, /^250 /);
});
