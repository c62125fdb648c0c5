import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { requirementForMx } from '../../src/engine/delivery/policy/chain.js';
import type { Target } from '../../src/engine/delivery/route.js';
import { type ClientContext, close, ConnectFailed, localAddressOf, open, transmit, usable } from '../../src/engine/delivery/smtpClient.js';
import { IdAllocator } from '../../src/engine/ids.js';
import { MailLog } from '../../src/engine/log/mailLog.js';
import { defaultConfig } from '../../src/store/schema.js';

/**
 * The SMTP client reads a few of nodemailer's internals (smtpClient.ts NodemailerInternals). Each
 * test here exercises one of them against a scripted server on loopback, so a nodemailer upgrade
 * that changes one fails here, by name, instead of changing delivery's decisions silently.
 */

const dir = mkdtempSync(path.join(os.tmpdir(), 'mxg-client-'));
const log = new MailLog(dir);
log.open();
const ids = new IdAllocator(path.join(dir, 'ids.json'));
ids.open();
const ctx: ClientContext = { config: defaultConfig(), log, ids, hostname: 'client.test', connectTimeoutMs: 5000 };
const servers: net.Server[] = [];
after(() => {
  for (const s of servers) s.close();
  log.close();
});

/** A server that answers each command line with `reply(line)` (undefined: close the connection). */
async function scripted(reply: (line: string, socket: net.Socket) => string | undefined, greeting = '220 peer.test ESMTP'): Promise<Target> {
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.write(`${greeting}\r\n`);
    let buffer = '';
    let inData = false;
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      for (let i = buffer.indexOf('\r\n'); i >= 0; i = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            socket.write('250 2.0.0 Ok: queued\r\n');
          }
          continue;
        }
        const answer = reply(line, socket);
        if (answer === undefined) {
          socket.destroy();
          return;
        }
        if (answer.startsWith('354')) inData = true;
        if (answer) socket.write(`${answer}\r\n`);
      }
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return { host: '127.0.0.1', port, mxHost: 'peer.test', dnssec: { mx: 'insecure', address: 'insecure' } } as unknown as Target;
}

const plainEsmtp = (line: string): string | undefined => {
  const verb = line.slice(0, 4).toUpperCase();
  if (verb === 'EHLO') return '250-peer.test\r\n250-PIPELINING\r\n250 8BITMIME';
  if (verb === 'MAIL') return '250 2.1.0 Ok';
  if (verb === 'RCPT') return line.includes('nobody@') ? '550 5.1.1 <nobody@example.test>: Recipient address rejected' : '250 2.1.5 Ok';
  if (verb === 'DATA') return '354 go ahead';
  if (verb === 'QUIT') return '221 bye';
  if (verb === 'RSET') return '250 Ok';
  return '502 what';
};

const preferred = async (target: Target) => requirementForMx('preferred', [], { domain: 'example.test', mxHost: target.mxHost, target });

test('_supportedExtensions: a server without STARTTLS in its EHLO list is told apart', async () => {
  const target = await scripted(plainEsmtp);
  const req = { ...(await preferred(target)), attempt: true };
  const opened = await open(ctx, target, 'example.test', req, true, []);
  assert.deepEqual(opened.observation, { stage: 'no-starttls' });
  assert.equal(opened.dead, false);
  close(log, opened);
});

test('allowsAuth with no extensions: a server that refuses EHLO (HELO fallback) is told apart', async () => {
  const target = await scripted((line) => {
    const verb = line.slice(0, 4).toUpperCase();
    if (verb === 'EHLO') return '502 5.5.1 EHLO not implemented';
    if (verb === 'HELO') return '250 peer.test';
    return plainEsmtp(line);
  });
  const opened = await open(ctx, target, 'example.test', await preferred(target), true, []);
  assert.deepEqual(opened.observation, { stage: 'no-esmtp' });
  close(log, opened);
});

test('upgrading: a handshake that fails after "220 ready" is a failed handshake, not a failed connection', async () => {
  const target = await scripted((line, socket) => {
    const verb = line.slice(0, 4).toUpperCase();
    if (verb === 'EHLO') return '250-peer.test\r\n250 STARTTLS';
    if (verb === 'STAR') {
      socket.write('220 2.0.0 Ready to start TLS\r\n');
      // Not a TLS server hello: the client's handshake fails.
      setTimeout(() => socket.end('this is not TLS\r\n'), 20);
      return '';
    }
    return plainEsmtp(line);
  });
  const opened = await open(ctx, target, 'example.test', await preferred(target), true, []);
  assert.equal(opened.observation?.stage, 'handshake-failed');
  assert.equal(opened.dead, true);
  close(log, opened);
});

test('STARTTLS refused with an error reply is told apart from a failed handshake', async () => {
  const target = await scripted((line) => {
    const verb = line.slice(0, 4).toUpperCase();
    if (verb === 'EHLO') return '250-peer.test\r\n250 STARTTLS';
    if (verb === 'STAR') return '454 4.7.0 TLS not available';
    return plainEsmtp(line);
  });
  const opened = await open(ctx, target, 'example.test', await preferred(target), true, []);
  assert.deepEqual(opened.observation, { stage: 'starttls-refused', reply: '454 4.7.0 TLS not available' });
  assert.equal(opened.dead, true);
  close(log, opened);
});

test('_socket: the local address of the session; replies become typed outcomes, per recipient', async () => {
  const target = await scripted(plainEsmtp);
  const opened = await open(ctx, target, 'example.test', { ...(await preferred(target)), attempt: false }, false, []);
  assert.equal(localAddressOf(opened), '127.0.0.1');
  const outcomes = new Map();
  const session = { opened, messages: 0 };
  const sent = await transmit(log, session, 1, 'a@client.test', [{ rid: 0, address: 'someone@example.test' }, { rid: 1, address: 'nobody@example.test' }], Buffer.from('Subject: x\r\n\r\nhi\r\n'), outcomes);
  assert.equal(sent, 'clean');
  assert.deepEqual(outcomes.get(0), { kind: 'delivered', code: 250, status: '2.0.0', text: '250 2.0.0 Ok: queued' });
  assert.deepEqual(outcomes.get(1), { kind: 'permanent', code: 550, status: '5.1.1', text: '550 5.1.1 <nobody@example.test>: Recipient address rejected' });
  assert.equal(usable(session), true, 'an open session is usable');
  const ended = new Promise((resolve) => opened.conn.once('end', resolve));
  close(log, opened);
  await ended;
  assert.equal(usable(session), false, '_closing/_destroyed: a closed session is not');
});

test('_destroyed: a session the peer dropped is not usable', async () => {
  let drop: (() => void) | undefined;
  const target = await scripted((line, socket) => {
    drop = () => socket.destroy();
    return plainEsmtp(line);
  });
  const opened = await open(ctx, target, 'example.test', { ...(await preferred(target)), attempt: false }, false, []);
  const session = { opened, messages: 1 };
  const ended = new Promise((resolve) => opened.conn.once('end', resolve));
  drop!();
  await ended;
  assert.equal(usable(session), false);
});

test('a refused connection is a ConnectFailed with its DCID', async () => {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  const target = { host: '127.0.0.1', port, mxHost: 'peer.test' } as unknown as Target;
  await assert.rejects(open(ctx, target, 'example.test', await preferred(target), false, []), (err: unknown) => err instanceof ConnectFailed && err.dcid > 0 && /ECONNREFUSED/.test(err.reason));
});

test("DATA escaping: dotStuffing.ts gives nodemailer's DataStream output byte for byte (dots, bare CR and LF, any chunking)", async () => {
  const { nodemailerDataStream, useFastDotStuffing } = await import('../../src/engine/delivery/dotStuffing.js');
  const original = (await useFastDotStuffing()) as (this: unknown, chunk: Buffer, enc: string, done: () => void) => void;
  const DataStream = (await nodemailerDataStream()) as unknown as new () => import('node:stream').Transform & { _transform: typeof original; inByteCount: number; outByteCount: number };
  assert.notEqual(DataStream.prototype._transform, original, 'the fast escaping is in place');
  const run = async (chunks: Buffer[], fast: boolean) => {
    const s = new DataStream();
    if (!fast) s._transform = original;
    const out: Buffer[] = [];
    s.on('data', (d: Buffer) => out.push(d));
    const ended = new Promise((r) => s.on('end', r));
    for (const c of chunks) s.write(c);
    s.end();
    await ended;
    return { data: Buffer.concat(out), counts: [s.inByteCount, s.outByteCount] };
  };
  // Random messages over the bytes that matter, cut at random places; and the hostile classics.
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const cases: Buffer[][] = [[Buffer.from('.\r\n..\r\n\r.\r\n\n.x\r')], [Buffer.from('a\r'), Buffer.from('.b\n'), Buffer.from('.')], [Buffer.from('\r'), Buffer.from('\n.'), Buffer.from('\r\r\n')]];
  for (let k = 0; k < 400; k += 1) {
    const bytes = Buffer.from(Array.from({ length: 1 + random(60) }, () => '\r\n.a'.charCodeAt(random(4))));
    const chunks: Buffer[] = [];
    for (let i = 0; i < bytes.length; ) {
      const n = 1 + random(8);
      chunks.push(bytes.subarray(i, i + n));
      i += n;
    }
    cases.push(chunks);
  }
  for (const chunks of cases) {
    const [fast, slow] = [await run(chunks, true), await run(chunks, false)];
    assert.deepEqual(fast, slow, JSON.stringify(Buffer.concat(chunks).toString('latin1')));
  }
});
