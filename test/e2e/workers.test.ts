import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import net from 'node:net';
import { availableParallelism } from 'node:os';
import tls from 'node:tls';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { applianceWithListener, cleanup, mxgate, sendMail, shellOk, until } from '../helpers.js';
import { SmtpProbe } from '../smtp-probe.js';
import { dataPaths } from '../../src/store/paths.js';

/** Listener workers: sessions served by child processes of the engine keep every guarantee. */
let home: string;
let port: number;
before(async () => {
  ({ home, port } = await applianceWithListener());
});
after(() => cleanup(home));

const workerPids = async (): Promise<number[]> => {
  const status = await shellOk(home, 'status');
  return [...(/Listener workers: +(.*)/.exec(status)?.[1] ?? '').matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));
};

/** Sessions the (one) worker serves now. */
const inWorker = async () => Number(/Listener workers: +pid \d+ \((\d+) connection/.exec(await shellOk(home, 'status'))?.[1]);

/** Connect and wait for the first reply line (the banner, or a refusal). */
function connect(): Promise<{ socket: net.Socket; line: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('error', reject);
    socket.once('data', (d) => resolve({ socket, line: d.toString().split('\r\n')[0]! }));
    socket.once('close', () => resolve({ socket, line: '' })); // closed before any reply (a worker killed)
    // No banner and no close: a connection nobody serves (what a socket lost between processes would be).
    setTimeout(() => resolve({ socket, line: 'no reply in 10 s' }), 10_000).unref();
  });
}

/** One SMTP transaction on an open, greeted socket; returns the last reply. */
async function transact(socket: net.Socket, subject: string): Promise<string> {
  const replies: string[] = [];
  let buffered = '';
  const next = () =>
    new Promise<string>((resolve) => {
      const take = () => {
        const m = /^(\d{3}) [^\r\n]*\r\n/m.exec(buffered);
        if (!m) return false;
        const end = buffered.indexOf(m[0]) + m[0].length;
        buffered = buffered.slice(end);
        resolve(m[0].trim());
        return true;
      };
      if (take()) return;
      const onData = (d: Buffer) => {
        buffered += d.toString();
        if (take()) socket.off('data', onData);
      };
      socket.on('data', onData);
    });
  for (const line of ['EHLO client.test', 'MAIL FROM:<s@example.org>', 'RCPT TO:<r@example.net>', 'DATA', `Subject: ${subject}\r\n\r\nhello\r\n.`]) {
    socket.write(line + '\r\n');
    replies.push(await next());
  }
  return replies.at(-1)!;
}

test('"auto" starts workers from the third core on; setup changes the count, bad values are refused', async () => {
  await shellOk(home, 'listenerconfig setup --workers auto', 'commit auto'); // (npm run test:workers sets 1)
  await until(home, 'the automatic count', async () => (await workerPids()).length === Math.max(0, availableParallelism() - 2));
  assert.equal((await workerPids()).length, Math.max(0, availableParallelism() - 2));
  assert.match(await shellOk(home, 'listenerconfig setup'), /Listener workers: auto \(one per processor core beyond the first two: \d+ here\)/);
  const bad = await mxgate(home, ['-c', 'listenerconfig setup --workers many']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr + bad.stdout, /Listener workers must be "auto" or a number from 0 to 32, not "many"\./);

  await shellOk(home, 'listenerconfig setup --workers 2', 'commit two workers');
  await until(home, 'two workers', async () => (await workerPids()).length === 2);
  await shellOk(home, 'listenerconfig setup --workers 0', 'commit no workers');
  await until(home, 'no workers', async () => (await shellOk(home, 'status')).includes('Listener workers:  none; the engine serves every session'));
  assert.match((await sendMail(port, 'engine alone')).response, /250 .*MID \d+/);
  assert.match(await shellOk(home, 'listenerconfig setup'), /Listener workers: 0 \(the engine serves every session itself\)/);
  // The tests below run with one worker beside the engine.
  await shellOk(home, 'listenerconfig setup --workers 1', 'commit one worker');
  await until(home, 'one worker', async () => (await workerPids()).length === 1);
});

test("the engine and its worker run with the engine's node settings: OpenSSL configuration and heap growth", async () => {
  const engine = Number((await readFile(dataPaths(home).pidFile, 'utf8')).trim());
  const [worker] = await workerPids();
  for (const pid of [engine, worker!]) {
    const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    assert.ok(args.some((a) => /^--openssl-config=.*engine-openssl\.cnf$/.test(a)), `pid ${pid}: ${args.join(' ')}`);
    assert.ok(args.includes('--heap-growing-percent=100'), `pid ${pid}: ${args.join(' ')}`);
  }
});

test("a policy's per-host limit counts the sessions of the engine and its worker together", async () => {
  await shellOk(home, 'listenerconfig edit InboundMail hostaccess default --max-concurrency 3', 'commit three per host');
  const opened = [];
  for (let i = 0; i < 6; i += 1) opened.push(await connect());
  try {
    const greeted = opened.filter((o) => o.line.startsWith('220 '));
    const refused = opened.filter((o) => o.line.startsWith('421 4.7.0 Too many concurrent connections from your host'));
    assert.equal(greeted.length, 3, opened.map((o) => o.line).join('\n'));
    assert.equal(refused.length, 3);
    const status = await shellOk(home, 'status');
    assert.match(status, /InboundMail .*listening, 3 connection\(s\)/);
    // The sessions are spread: the worker holds some of them (the engine the others).
    const inWorker = Number(/Listener workers: +pid \d+ \((\d+) connection/.exec(status)?.[1]);
    assert.ok(inWorker >= 1 && inWorker <= 3, status);
    const mids = [];
    for (const [n, o] of greeted.entries()) mids.push(Number(/MID (\d+)/.exec(await transact(o.socket, `held ${n}`))?.[1]));
    assert.equal(new Set(mids).size, 3, `one MID sequence over all processes: ${mids.join(', ')}`);
  } finally {
    for (const o of opened) o.socket.destroy();
  }
  // Slots given back: three new sessions are greeted again.
  await until(home, 'slots given back', async () => /listening, 0 connection\(s\)/.test(await shellOk(home, 'status')));
  const again = [await connect(), await connect(), await connect()];
  for (const o of again) o.socket.destroy();
  assert.deepEqual(again.map((o) => o.line.slice(0, 4)), ['220 ', '220 ', '220 ']);
  await shellOk(home, 'listenerconfig edit InboundMail hostaccess default --max-concurrency 10', 'commit');
});

/** EHLO, STARTTLS, the handshake, EHLO again and QUIT: the session ends on its TLS socket. */
async function starttlsSession(): Promise<string> {
  const { socket, line } = await connect();
  assert.match(line, /^220 /);
  const reply = (s: net.Socket | tls.TLSSocket) => new Promise<string>((resolve) => s.once('data', (d) => resolve(d.toString())));
  socket.write('EHLO client.test\r\n');
  assert.match(await reply(socket), /STARTTLS/);
  socket.write('STARTTLS\r\n');
  assert.match(await reply(socket), /^220 /);
  const secure = tls.connect({ socket, rejectUnauthorized: false, servername: 'mx.test' });
  await new Promise((resolve) => secure.once('secureConnect', resolve));
  const protocol = secure.getProtocol();
  secure.write('EHLO client.test\r\n');
  await reply(secure);
  secure.write('QUIT\r\n');
  const bye = await reply(secure);
  await new Promise((resolve) => secure.once('close', resolve));
  return `${protocol} ${bye.trim()}`;
}

test('sessions that ended after STARTTLS are no longer counted, in the worker or the engine', async () => {
  await shellOk(home, 'listenerconfig edit InboundMail hostaccess default --tls preferred --max-concurrency 2', 'commit "TLS preferred, two per host"');
  const ends = [];
  // More sessions than the per-host limit, one after another: a session still counted would refuse the next ones.
  for (let i = 0; i < 6; i += 1) ends.push(await starttlsSession());
  for (const e of ends) assert.match(e, /^TLSv1\.3 221 /);
  await until(home, 'no session counted', async () => {
    const status = await shellOk(home, 'status');
    return /listening, 0 connection\(s\)/.test(status) && /Listener workers: +pid \d+ \(0 connection/.test(status);
  });
  await shellOk(home, 'listenerconfig edit InboundMail hostaccess default --max-concurrency 10', 'commit');
});

test('a committed certificate reaches the worker: its new sessions present it, its open session keeps working', async () => {
  const tlsSession = async (servername: string) => {
    const { probe } = await SmtpProbe.connect(port);
    await probe.send('EHLO t');
    assert.match(await probe.send('STARTTLS'), /^220 /);
    const socket = await probe.upgrade({ rejectUnauthorized: false, servername });
    return { probe, cn: socket.getPeerCertificate().subject.CN };
  };
  await shellOk(home, 'certconfig new before --cn before.example.com --country JP --key ecdsa-p256', 'listenerconfig edit InboundMail certificate before', 'commit before');
  // With nothing open, a new session goes to the worker.
  const first = await tlsSession('before.example.com');
  assert.equal(first.cn, 'before.example.com');
  assert.equal(await inWorker(), 1, 'the session is served by the worker');

  await shellOk(home, 'certconfig new after --cn after.example.com --country JP --key ecdsa-p256', 'listenerconfig edit InboundMail certificate after', 'commit after');
  assert.match(await first.probe.send('EHLO t'), /^250/, 'the open session is still served');
  assert.match(await first.probe.send('MAIL FROM:<a@example.org>'), /^250 /);
  first.probe.close();
  await until(home, 'the session closed', async () => (await inWorker()) === 0);

  const second = await tlsSession('after.example.com');
  assert.equal(await inWorker(), 1, 'the new session is served by the worker too');
  assert.equal(second.cn, 'after.example.com');
  second.probe.close();
});

test('a worker told to stop lets its open session finish; its last log lines reach the mail log', async () => {
  // The last test's session may still be counted for a moment; a new session goes to an idle worker.
  await until(home, 'an idle worker', async () => (await inWorker()) === 0);
  const { probe } = await SmtpProbe.connect(port);
  assert.equal(await inWorker(), 1, 'the session is served by the worker');
  await shellOk(home, 'listenerconfig setup --workers 0', 'commit no workers');
  assert.match(await probe.send('EHLO t'), /^250/, 'the stopping worker still serves its session');
  assert.match(await probe.send('QUIT'), /^221/);
  probe.close();
  await until(home, 'the worker gone', async () => (await workerPids()).length === 0);
  // Every session in the log has its close line, the stopped worker's last one included.
  const log = await readFile(path.join(home, 'logs', 'mail_logs', 'mail.current'), 'utf8');
  const opened = [...log.matchAll(/New SMTP ICID (\d+)/g)].map((m) => m[1]);
  const closed = new Set([...log.matchAll(/ICID (\d+) close\n/g)].map((m) => m[1]));
  assert.deepEqual(opened.filter((icid) => !closed.has(icid)), []);
  await shellOk(home, 'listenerconfig setup --workers 1', 'commit one worker');
  await until(home, 'one worker', async () => (await workerPids()).length === 1);
});

test('kill -9 of the worker under load: every message that got 250 is queued, and a new worker takes over', async () => {
  // A destination that never answers: every accepted message stays in the queue, where it can be counted.
  await shellOk(home, 'smtproutes new example.net 127.0.0.1:9', 'commit route to a closed port');
  const [victim] = await workerPids();
  assert.ok(victim);
  const acknowledged: number[] = [];
  let unanswered = 0;
  let stop = false;
  const sender = async () => {
    while (!stop) {
      try {
        const { socket, line } = await connect();
        if (line === 'no reply in 10 s') unanswered += 1;
        if (line.startsWith('220 ')) {
          const reply = await Promise.race([transact(socket, 'under load'), new Promise<string>((r) => socket.once('close', () => r('closed')))]);
          const mid = /^250 .*MID (\d+)/.exec(reply)?.[1];
          if (mid) acknowledged.push(Number(mid));
        }
        socket.destroy();
      } catch {
        // the worker died under this session: the client retries, as a sender would
      }
    }
  };
  const senders = Array.from({ length: 8 }, sender);
  await until(home, 'some mail accepted', () => acknowledged.length >= 20);
  process.kill(victim, 'SIGKILL');
  const countAtKill = acknowledged.length;
  await until(home, 'a new worker', async () => {
    const pids = await workerPids();
    return pids.length === 1 && pids[0] !== victim;
  });
  await until(home, 'mail accepted after the kill', () => acknowledged.length >= countAtKill + 20);
  stop = true;
  await Promise.all(senders);

  assert.equal(unanswered, 0, 'every connection got a banner or was closed, also those in flight to the killed worker');
  const log = await readFile(path.join(home, 'logs', 'mail_logs', 'mail.current'), 'utf8');
  assert.match(log, new RegExp(`Warning: Listener worker ${victim} exited \\(SIGKILL\\)`));
  const queue = new Set(await readdir(path.join(home, 'queue')));
  const missing = acknowledged.filter((mid) => !queue.has(`${mid}.msg`));
  assert.deepEqual(missing, [], 'every acknowledged message is in the queue');
  assert.ok(![...queue].some((n) => n.includes(`.eml.${victim}.`)), 'what the dead worker was receiving is removed');
  // The engine knows every one of them (adopted when the worker said so, or found after its death).
  const status = await shellOk(home, 'status');
  const queued = Number(/Queue: +(\d+) message/.exec(status)?.[1]);
  assert.equal(queued, [...queue].filter((n) => /^\d+\.msg$/.test(n)).length, status);
  assert.ok(queued >= acknowledged.length);
});
