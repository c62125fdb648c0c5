import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { applianceWithListener, cleanup, freePort, mxgate, sendMail, queuedMessage } from '../helpers.js';

let home: string;
let port: number;
before(async () => {
  ({ home, port } = await applianceWithListener());
});
after(() => cleanup(home));

test('kill -9 right after 250: the message is still queued after a restart', async () => {
  const { response } = await sendMail(port, 'survives a crash');
  const mid = Number(/MID (\d+)/.exec(response)?.[1]);
  const pid = Number((await readFile(path.join(home, 'run', 'engine.pid'), 'utf8')).trim());
  process.kill(pid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 200));

  const down = await mxgate(home, ['engine', 'status']);
  assert.equal(down.code, 3);

  const start = await mxgate(home, ['engine', 'start']);
  assert.equal(start.code, 0, start.stdout + start.stderr);
  assert.match(start.stdout, /Engine started \(pid \d+\)/);
  const status = await mxgate(home, ['-c', 'status']);
  assert.match(status.stdout, /Queue: +1 message\(s\)/);
  assert.match(status.stdout, /InboundMail .* listening/, 'the committed listener is back');
  const queue = await readdir(path.join(home, 'queue'));
  assert.ok(queue.includes(`${mid}.msg`), queue.join(' '));
  assert.match((await queuedMessage(home, mid)).message, /Subject: survives a crash/);

  // Message numbers are never reused after a crash.
  const second = await sendMail(port, 'after restart');
  assert.ok(Number(/MID (\d+)/.exec(second.response)?.[1]) > mid);
});

test('one engine per data directory', async () => {
  const again = await mxgate(home, ['engine', 'run']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /an engine \(pid \d+\) is already running for this data directory/);
  const start = await mxgate(home, ['engine', 'start']);
  assert.match(start.stdout, /Engine already running/);
});

test('engine stop ends the engine; engine status says so', async () => {
  const stop = await mxgate(home, ['engine', 'stop']);
  assert.match(stop.stdout, /Engine stopped/);
  const status = await mxgate(home, ['engine', 'status']);
  assert.equal(status.code, 3);
  assert.match(status.stdout, /Engine is not running/);
  const shellStatus = await mxgate(home, ['-c', 'status']);
  assert.equal(shellStatus.code, 1);
  assert.match(shellStatus.stdout, /Engine: +down/);
});

test('a listener whose port is taken when the engine starts is reported; the others run', async () => {
  const net = await import('node:net');
  const other = await freePort();
  const setup = await mxgate(home, [
    '-c', `listenerconfig new Second --type private --interface Management --port ${other}`,
    '-c', 'listenerconfig edit Second hostaccess group RELAYLIST add 127.0.0.1',
    '-c', 'commit', '-c', 'sethostname mx1.example.com', '-c', 'commit hostname']);
  assert.equal(setup.code, 0, setup.stdout + setup.stderr);
  await mxgate(home, ['engine', 'stop']);
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
  try {
    await mxgate(home, ['engine', 'start']);
    const status = await mxgate(home, ['-c', 'status']);
    assert.match(status.stdout, new RegExp(`Warning: the committed configuration could not be applied when the engine started: Listener "InboundMail" cannot start: 127\\.0\\.0\\.1 port ${port} is already in use`));
    assert.match(status.stdout, /Second \(Private\) .* listening/);
    assert.doesNotMatch(status.stdout, /InboundMail \(Public\)/);
    assert.match(status.stdout, /Host name: +mx1\.example\.com/);
    const banner = await new Promise<string>((resolve, reject) => {
      const s = net.connect(other, '127.0.0.1');
      s.once('data', (d) => {
        s.destroy();
        resolve(d.toString());
      });
      s.once('error', reject);
    });
    assert.match(banner, /^220 mx1\.example\.com ESMTP/);
    const log = await readFile(path.join(home, 'logs', 'mail_logs', 'mail.current'), 'utf8');
    assert.match(log, /Critical: Committed configuration version \d+ not fully applied: Listener "InboundMail" cannot start/);
  } finally {
    blocker.close();
  }
});
