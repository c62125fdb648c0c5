import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { DamagedMessage, type Envelope, Spool } from '../../src/engine/queue/spool.js';

const envelope = (mid: number, size: number): Envelope => ({ mid, icid: 1, listener: 'L', clientAddress: '127.0.0.1', helo: 'h', from: 'a@b', to: ['c@d', 'e@f'], size, receivedAt: '2026-12-07T00:00:00.000Z', state: 'queued', attempts: 0 });
const message = (text: string) => Buffer.from(`Subject: ${text}\r\n\r\n${text}\r\n`);

/** The queue's message files (not the delivered ones kept for reuse, .free.*.tmp). */
const messageFiles = async (dir: string) => (await readdir(dir)).filter((n) => !n.startsWith('.free.'));

/** A spool on `dir`, opened. */
async function openSpool(dir: string): Promise<Spool> {
  const spool = new Spool(dir);
  await spool.open();
  return spool;
}

/** How many times `body` calls Buffer.concat (each a copy of what it is given). */
async function concatsDuring(body: () => Promise<void>): Promise<number> {
  const concat = Buffer.concat;
  let calls = 0;
  Buffer.concat = ((list: readonly Uint8Array[], total?: number) => {
    calls += 1;
    return concat(list, total);
  }) as typeof Buffer.concat;
  try {
    await body();
  } finally {
    Buffer.concat = concat;
  }
  return calls;
}

/** Run `body` on a queue directory of its own, removed afterwards. */
async function inQueueDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mxg-queue-'));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a queued message is one file: its bytes, then its envelope; the message reads back exactly, also after a restart', () =>
  inQueueDir(async (dir) => {
    const spool = await openSpool(dir);
    const small = message('small');
    const big = Buffer.alloc(300 * 1024, 'x'); // written in batches, not all in memory
    await spool.enqueue(envelope(1, small.length), small);
    await spool.enqueue(envelope(2, big.length), big);
    assert.deepEqual((await readdir(dir)).sort(), ['1.msg', '2.msg']);
    const file = await readFile(path.join(dir, '1.msg'));
    assert.deepEqual(file.subarray(0, small.length), small, 'the file begins with the message as received');
    assert.match(file.subarray(small.length).toString(), /^\{"mid":1,.*"size":\d+.*\}\nmxgate-envelope \d{10}\n$/);
    assert.deepEqual(await spool.read(1), small);
    assert.deepEqual(await spool.read(1), small, 'read again from disk, not from memory');
    assert.deepEqual(await spool.read(2), big);
    const again = new Spool(dir);
    assert.deepEqual(await again.open(), []);
    assert.deepEqual(again.size, { messages: 2, bytes: small.length + big.length });
    assert.deepEqual(await again.read(2), big);
    assert.deepEqual((await again.list()).map((e) => [e.mid, e.to]), [[1, ['c@d', 'e@f']], [2, ['c@d', 'e@f']]]);
  }));

test('delivery progress rewrites the envelope beside the message; the rewrite wins after a restart; removal leaves no message', () =>
  inQueueDir(async (dir) => {
    const spool = await openSpool(dir);
    const data = message('progress');
    await spool.enqueue(envelope(7, data.length), data);
    const [env] = await spool.list();
    env!.recipients = [{ status: 'delivered', attempts: 1 }, { status: 'pending', attempts: 1 }];
    env!.attempts = 1;
    await spool.update(env!);
    assert.deepEqual((await readdir(dir)).sort(), ['7.msg', '7.msg.json']);
    const again = new Spool(dir);
    await again.open();
    const [reread] = await again.list();
    assert.equal(reread!.attempts, 1);
    assert.equal(reread!.recipients![0]!.status, 'delivered');
    assert.deepEqual(await again.read(7), data);
    await again.remove(7);
    assert.deepEqual(await messageFiles(dir), []);
    assert.deepEqual(again.size, { messages: 0, bytes: 0 });
  }));

test('a crash between removing a message and its rewritten envelope leaves a file the next start removes', () =>
  inQueueDir(async (dir) => {
    await writeFile(path.join(dir, '8.msg.json'), JSON.stringify(envelope(8, 3)));
    await writeFile(path.join(dir, '.9.eml.123.abcdefabcdef.tmp'), 'half a message');
    const spool = new Spool(dir);
    assert.deepEqual(await spool.open(), []);
    assert.deepEqual(await readdir(dir), []);
    assert.deepEqual(spool.size, { messages: 0, bytes: 0 });
  }));

test('a message file cut short or with a damaged envelope is set aside at start-up, never counted', () =>
  inQueueDir(async (dir) => {
    const spool = await openSpool(dir);
    for (const mid of [1, 2, 3]) await spool.enqueue(envelope(mid, 5), Buffer.from('hello'));
    await truncate(path.join(dir, '1.msg'), 10);
    const two = await readFile(path.join(dir, '2.msg'));
    await writeFile(path.join(dir, '2.msg'), Buffer.from(two.toString().replace('"mid":2', '"mid":9')));
    const again = new Spool(dir);
    const repairs = await again.open();
    assert.equal(repairs.length, 2);
    assert.match(repairs[0]!, /^queue\/1\.msg of MID 1 cannot be used \(it ends without its envelope \(cut short: 10 bytes\)\); moved to queue\/corrupt\//);
    assert.match(repairs[1]!, /^queue\/2\.msg of MID 2 cannot be used \(its envelope is it names MID 9\)/);
    assert.deepEqual(again.size, { messages: 1, bytes: 5 });
    assert.deepEqual((await readdir(path.join(dir, 'corrupt'))).sort(), ['1.msg', '2.msg']);
  }));

test('a message damaged after it was queued is refused at delivery, never sent short', () =>
  inQueueDir(async (dir) => {
    const spool = await openSpool(dir);
    const data = message('cut later');
    await spool.enqueue(envelope(4, data.length), data);
    await spool.read(4); // the first attempt takes it from memory
    await truncate(path.join(dir, '4.msg'), data.length + 5);
    await assert.rejects(spool.read(4), (err: unknown) => err instanceof DamagedMessage && /cut short/.test(err.why));
  }));

test("an older version's queue (<MID>.eml with <MID>.json) is read, updated and removed as it was", () =>
  inQueueDir(async (dir) => {
    const data = message('from before');
    await writeFile(path.join(dir, '3.eml'), data);
    await writeFile(path.join(dir, '3.json'), JSON.stringify(envelope(3, data.length)));
    await writeFile(path.join(dir, '4.eml'), 'an orphan: its envelope was never written');
    const spool = new Spool(dir);
    assert.deepEqual(await spool.open(), []);
    assert.deepEqual(spool.size, { messages: 1, bytes: data.length });
    assert.deepEqual(await spool.read(3), data);
    const [env] = await spool.list();
    env!.attempts = 2;
    await spool.update(env!);
    assert.equal(JSON.parse(await readFile(path.join(dir, '3.json'), 'utf8')).attempts, 2);
    await spool.remove(3);
    assert.deepEqual(await readdir(dir), [], 'an older version\'s files are not kept for reuse');
  }));

test("a delivered message's file is written over by the next message: nothing of the old one is left, and a restart removes the kept files", () =>
  inQueueDir(async (dir) => {
    const spool = await openSpool(dir);
    const long = Buffer.alloc(200 * 1024, 'o'); // more than one write batch
    await spool.enqueue(envelope(1, long.length), long);
    const inode = (await stat(path.join(dir, '1.msg'))).ino;
    await spool.remove(1);
    const kept = (await readdir(dir)).filter((n) => n.startsWith('.free.'));
    assert.equal(kept.length, 1, 'the file is kept, not freed');

    const short = message('short');
    await spool.enqueue(envelope(2, short.length), short);
    assert.equal((await stat(path.join(dir, '2.msg'))).ino, inode, 'the kept file was written over');
    assert.deepEqual(await readdir(dir), ['2.msg'], 'and is no longer kept');
    const file = await readFile(path.join(dir, '2.msg'));
    assert.deepEqual(file.subarray(0, short.length), short);
    assert.match(file.subarray(short.length).toString(), /^\{"mid":2,.*\}\nmxgate-envelope \d{10}\n$/, 'nothing of the longer message is left after the envelope');
    assert.equal(file.includes('ooo'), false);
    const again = new Spool(dir);
    assert.deepEqual(await again.open(), []);
    assert.deepEqual(await again.read(2), short);

    await again.remove(2);
    const big = Buffer.alloc(300 * 1024, 'b');
    await again.enqueue(envelope(3, big.length), big);
    await again.remove(3);
    assert.deepEqual(await readdir(dir), [], 'a big message\'s file is freed, not kept');
    await again.enqueue(envelope(4, short.length), short);
    await again.remove(4);
    assert.equal((await readdir(dir)).length, 1);
    await new Spool(dir).open();
    assert.deepEqual(await readdir(dir), [], 'the next start removes the kept files');
  }));

test('a kept file that disappeared is replaced by a new one', () =>
  inQueueDir(async (dir) => {
    const spool = await openSpool(dir);
    const data = message('first');
    await spool.enqueue(envelope(1, data.length), data);
    await spool.remove(1);
    for (const n of await readdir(dir)) await rm(path.join(dir, n));
    await spool.enqueue(envelope(2, data.length), data);
    assert.deepEqual(await spool.read(2), data);
    assert.deepEqual(await readdir(dir), ['2.msg']);
  }));

test('a message received in chunks is written as it came, not copied together first; tiny chunks past the system\'s limit per write are all written, in order', () =>
  inQueueDir(async (dir) => {
    const spool = await openSpool(dir);
    const chunks = [
      ...Array.from({ length: 3000 }, (_, i) => Buffer.from([0x41 + (i % 26)])), // 3000 one-byte chunks: more than IOV_MAX (1024)
      ...Array.from({ length: 12 }, (_, i) => Buffer.alloc(10 * 1024, 0x61 + i)),
    ];
    const whole = Buffer.concat(chunks);
    const copied = await concatsDuring(async () => {
      const writer = await spool.receive(7);
      for (const c of chunks) await writer.write(c);
      await writer.commit(envelope(7, 0));
    });
    assert.equal(copied, 0, 'no Buffer.concat of the message');
    assert.deepEqual(await spool.read(7), whole);
  }));

test('messages kept in memory for their first delivery are copied together only while the cache has room', () =>
  inQueueDir(async (dir) => {
    const spool = await openSpool(dir);
    const message = (i: number) => [Buffer.alloc(30 * 1024, 0x41 + (i % 26)), Buffer.alloc(30 * 1024, 0x61 + (i % 26))];
    const copies: number[] = [];
    // 290 messages of 60 KB, each in memory until its commit: the cache (16 MB) takes 273 of them
    for (let i = 1; i <= 290; i++) {
      const writer = await spool.receive(i);
      for (const c of message(i)) await writer.write(c);
      copies.push(await concatsDuring(() => writer.commit(envelope(i, 0))));
    }
    assert.deepEqual(copies.slice(0, 273), Array(273).fill(1), 'copied once for the cache');
    assert.deepEqual(copies.slice(273), Array(17).fill(0), 'not copied once the cache is full');
    for (const i of [1, 273, 274, 290]) assert.deepEqual(await spool.read(i), Buffer.concat(message(i)), `message ${i} reads back`);
  }));
