import { closeSync, fsync as fsyncCallback, ftruncateSync, mkdirSync, open as openCallback, readFileSync, renameSync, rmSync, statSync, writevSync } from 'node:fs';
import { readdir, readFile, unlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import path from 'node:path';
import { ensureDir, fsyncDir, writeFileAtomic } from '../../store/atomic.js';
import { envelopeIn, envelopeTrailer, readEnvelopeAtEnd } from './queueFile.js';
import type { IdAllocator } from '../ids.js';

/** What the queue knows of a message besides its bytes. */
export interface Envelope {
  mid: number;
  icid: number;
  listener: string;
  clientAddress: string;
  helo: string;
  from: string;
  to: string[];
  size: number;
  receivedAt: string;
  state: 'queued';
  attempts: number;
  /** Per-recipient delivery state, by index into `to` (written by delivery). */
  recipients?: RecipientState[];
  /** Not before this time (ISO); absent means now. */
  nextAttemptAt?: string;
  /** An alert or a TLS report: delivered with TLS Preferred (no DANE, no MTA-STS) whatever the destination control says. */
  alert?: boolean;
  /** The message arrived over TLS (STARTTLS): tlsreport inbound counts it as encrypted. */
  receivedOverTls?: boolean;
  /** RFC 8689 REQUIRETLS: only over verified TLS, to hosts that offer REQUIRETLS (MAIL FROM ... REQUIRETLS). */
  requireTls?: boolean;
  /** RFC 8689 "TLS-Required: No" from a relay host: delivery ignores the destination's TLS requirements. */
  tlsOptional?: boolean;
  /** Delay warnings (bounce profile) sent so far for this message, and when the last one went. */
  delayWarnings?: { sent: number; lastAt: string };
}

export interface RecipientState {
  status: 'pending' | 'delivered' | 'bounced';
  attempts: number;
  lastResponse?: string;
}

/** An envelope's per-recipient states; before the first attempt every recipient is pending. */
export function recipientStates(env: Envelope): RecipientState[] {
  return env.recipients ?? env.to.map(() => ({ status: 'pending' as const, attempts: 0 }));
}

/** Where a queued message lives: one file (<MID>.msg, queueFile.ts) or an older version's pair (<MID>.eml + <MID>.json). */
interface Entry {
  envelope: Envelope;
  /** Written by an older version: the message in <MID>.eml, its envelope in <MID>.json. */
  pair: boolean;
  /** A <MID>.msg whose envelope has been rewritten (delivery progress) into <MID>.msg.json, which wins. */
  rewritten: boolean;
}

/** Messages kept in memory between their 250 and their first delivery attempt, in bytes at most. */
const RECENT_BYTES = 16 * 1024 * 1024;

/**
 * The durable queue: queue/<MID>.msg holds a message and its envelope (queueFile.ts); it is
 * written under a temporary name, fsynced and renamed, so a message counts as queued only once
 * it is whole on disk, before the SMTP 250 reply. Delivery progress rewrites the envelope beside
 * it, in <MID>.msg.json. The envelopes are read from disk once, at open; after that the engine
 * (the only writer) keeps them in memory too, so a delivery pass reads no files to find what is
 * due. Queues written by older versions (<MID>.eml with <MID>.json) are read and delivered as
 * they are.
 *
 * A message's own file calls are synchronous except its open, fsyncs and unlink: writes, close
 * and rename take microseconds, less than a trip through libuv's thread pool, whose
 * hand-offs were most of the engine's time per message (bench/profile.ts). A delivered message's
 * file is written over by a later one rather than freed and created anew (`free`).
 */
export class Spool {
  private count = 0;
  private bytes = 0;
  private readonly entries = new Map<number, Entry>();
  /** Small messages just received by this process, read once from here by their first attempt (not from disk). */
  private readonly recent = new Map<number, Buffer>();
  private recentBytes = 0;
  /**
   * Files of delivered messages kept for the next ones to be written over (queue/.free.N.tmp):
   * creating a file was the most expensive file call per message (the file system's search for
   * a free inode), and freeing one the next. Only small files, only in the engine; a crash leaves
   * them as .tmp files, which `open` removes.
   */
  private readonly free: string[] = [];

  /**
   * `indexed: false` is a listener worker's view: it writes messages into the queue and tells the
   * engine (which adopts them), keeping nothing in memory itself.
   */
  constructor(
    private readonly dir: string,
    private readonly options: { indexed: boolean } = { indexed: true },
  ) {}

  /**
   * Scan the queue directory; drop half-written messages left by a crash, set damaged ones aside.
   * Synchronous reads: this runs once before the engine serves anything, and one promise per small
   * file costs ~10x more.
   */
  async open(): Promise<string[]> {
    const repairs: string[] = [];
    await ensureDir(this.dir);
    this.count = 0;
    this.bytes = 0;
    this.entries.clear();
    this.forgetRecent();
    this.free.length = 0; // removed below with the other .tmp files
    const names = new Set(await readdir(this.dir));
    for (const n of names) {
      const single = /^(\d+)\.msg$/.exec(n);
      const pair = /^(\d+)\.json$/.exec(n);
      if (!single && !pair) continue;
      const mid = Number((single ?? pair)![1]);
      const found = single ? this.readMessageFile(mid, names.has(`${mid}.msg.json`)) : this.readPair(mid);
      if (typeof found === 'string') repairs.push(this.quarantine(mid, found));
      else this.index(found);
    }
    for (const n of names) {
      // What a crash left: a message being received, a message file without its envelope (older
      // versions wrote the envelope last), a rewritten envelope whose message had been removed.
      const orphanPair = /^(\d+)\.eml$/.exec(n);
      const orphanRewrite = /^(\d+)\.msg\.json$/.exec(n);
      if (n.endsWith('.tmp') || (orphanPair && !this.entries.has(Number(orphanPair[1]))) || (orphanRewrite && !this.entries.has(Number(orphanRewrite[1])))) {
        rmSync(path.join(this.dir, n), { force: true });
      }
    }
    return repairs;
  }

  /** A <MID>.msg at start-up (with its rewritten envelope when there is one), or why it cannot be used. */
  private readMessageFile(mid: number, rewritten: boolean): Entry | string {
    const file = path.join(this.dir, `${mid}.msg`);
    let stored: ReturnType<typeof readEnvelopeAtEnd>;
    try {
      stored = readEnvelopeAtEnd(file);
    } catch (err) {
      return `it cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
    }
    if (typeof stored === 'string') return stored;
    let envelope = parseEnvelope(stored.json, mid);
    if (typeof envelope === 'string') return `its envelope is ${envelope}`;
    if (rewritten) {
      const latest = readEnvelopeFile(path.join(this.dir, `${mid}.msg.json`), mid);
      if (typeof latest === 'string') return `queue/${mid}.msg.json is ${latest}`;
      envelope = latest;
    }
    const damage = this.messageDamage(envelope, stored.messageBytes);
    return damage ?? { envelope, pair: false, rewritten };
  }

  /** An older version's <MID>.json with its <MID>.eml, or why they cannot be used. */
  private readPair(mid: number): Entry | string {
    const envelope = readEnvelopeFile(path.join(this.dir, `${mid}.json`), mid);
    if (typeof envelope === 'string') return envelope;
    const damage = this.messageDamage(envelope, statSync(path.join(this.dir, `${mid}.eml`), { throwIfNoEntry: false })?.size);
    return damage ?? { envelope, pair: true, rewritten: false };
  }

  private index(entry: Entry): void {
    this.entries.set(entry.envelope.mid, entry);
    this.count += 1;
    this.bytes += entry.envelope.size;
  }

  /** Why a message's data does not match its envelope (missing, cut short, grown), or undefined. */
  private messageDamage(envelope: Envelope, size: number | undefined): string | undefined {
    if (size === undefined) return 'its message file is missing';
    if (size !== envelope.size) return `its message file holds ${size} bytes, the envelope says ${envelope.size}`;
    return undefined;
  }

  /**
   * A queued message found damaged later (at delivery): out of the index and set aside like a
   * damaged envelope at start-up, never sent. Returns the line to log.
   */
  setAside(mid: number, why: string): string {
    const entry = this.entries.get(mid);
    if (entry) this.unindex(mid, entry);
    return this.quarantine(mid, why);
  }

  private unindex(mid: number, entry: Entry): void {
    this.entries.delete(mid);
    this.count -= 1;
    this.bytes -= entry.envelope.size;
    this.takeRecent(mid);
  }

  /** Move a damaged message out of the way (queue/corrupt/), so the engine starts and nothing is deleted. */
  private quarantine(mid: number, why: string): string {
    const corrupt = path.join(this.dir, 'corrupt');
    mkdirSync(corrupt, { recursive: true, mode: 0o700 });
    const moved: string[] = [];
    for (const name of [`${mid}.msg`, `${mid}.msg.json`, `${mid}.json`, `${mid}.eml`]) {
      try {
        renameSync(path.join(this.dir, name), path.join(corrupt, name));
        moved.push(name);
      } catch {
        // not every message has every file
      }
    }
    const what = moved.includes(`${mid}.msg`) ? `queue/${mid}.msg` : `queue/${mid}.json`;
    const withMessage = moved.includes(`${mid}.eml`) ? 'with its message ' : '';
    return `${what} of MID ${mid} cannot be used (${why}); moved ${withMessage}to queue/corrupt/, nothing was sent`;
  }

  /**
   * Receive a message straight to disk (memory does not grow with its size): chunks go to a
   * temporary file in the queue directory; `commit` adds the envelope, fsyncs the file and renames
   * it to <MID>.msg (only then is the message queued); `abort` removes it. A crash leaves a .tmp
   * that `open` removes.
   */
  async receive(mid: number): Promise<MessageWriter> {
    // The process id in the name lets the engine remove what a worker that died was receiving.
    const tmp = this.tmpPath(`${mid}.eml`);
    const reused = this.reuseFreeFile(tmp);
    const fd = await openFile(tmp, reused ? 'r+' : 'wx', 0o600);
    return new MessageWriter(fd, tmp, reused, async (envelope, whole) => {
      const file = path.join(this.dir, `${mid}.msg`);
      renameSync(tmp, file);
      try {
        // The new name survives a crash (group commit: sessions queueing at once share one sync).
        await fsyncDir(this.dir);
      } catch (err) {
        rmSync(file, { force: true });
        throw err;
      }
      if (!this.options.indexed) return;
      this.adopt(envelope);
      // Copied together only when the cache has room for it.
      if (whole && this.recentBytes + envelope.size <= RECENT_BYTES) {
        this.recent.set(mid, whole());
        this.recentBytes += envelope.size;
      }
    });
  }

  /** A new name .<stem>.<pid>.<serial>.tmp in the queue: unique, and removed by `open` after a crash. */
  private tmpPath(stem: string): string {
    return path.join(this.dir, `.${stem}.${process.pid}.${(tmpSerial++).toString(16)}.tmp`);
  }

  /** Give a kept file the name `tmp`; false when none is kept (or it has gone): a new file is created. */
  private reuseFreeFile(tmp: string): boolean {
    for (let spare = this.free.pop(); spare; spare = this.free.pop()) {
      try {
        renameSync(spare, tmp);
        return true;
      } catch {
        // removed by someone else: try the next
      }
    }
    return false;
  }

  /** A message another process (a listener worker) has put in the queue. */
  adopt(envelope: Envelope): void {
    if (this.entries.has(envelope.mid)) return;
    this.index({ envelope: structuredClone(envelope), pair: false, rewritten: false });
  }

  /**
   * After a listener worker died: messages it queued that the engine was not told of yet (it was
   * killed between the rename and its report) are adopted, and what it was still receiving
   * (temporary files named with its pid) is removed. Returns the MIDs adopted.
   */
  async recoverFrom(pid: number): Promise<number[]> {
    const adopted: number[] = [];
    for (const n of await readdir(this.dir)) {
      if (n.endsWith('.tmp') && n.includes(`.eml.${pid}.`)) await unlink(path.join(this.dir, n)).catch(() => undefined);
      const single = /^(\d+)\.msg$/.exec(n);
      if (!single || this.entries.has(Number(single[1]))) continue;
      const found = this.readMessageFile(Number(single[1]), false);
      if (typeof found === 'string') continue;
      this.adopt(found.envelope);
      adopted.push(found.envelope.mid);
    }
    return adopted;
  }

  /** Queue a message that is already in memory (DSNs, alerts, reports): the same path as received mail. */
  async enqueue(envelope: Envelope, message: Buffer): Promise<void> {
    const writer = await this.receive(envelope.mid);
    try {
      await writer.write(message);
    } catch (err) {
      await writer.abort();
      throw err;
    }
    await writer.commit(envelope);
  }

  /** Rewrite a message's envelope (delivery progress), atomically. */
  async update(envelope: Envelope): Promise<void> {
    const entry = this.entries.get(envelope.mid);
    if (!entry) throw new Error(`MID ${envelope.mid} is not queued`);
    await writeFileAtomic(path.join(this.dir, entry.pair ? `${envelope.mid}.json` : `${envelope.mid}.msg.json`), JSON.stringify(envelope) + '\n');
    entry.envelope = structuredClone(envelope);
    entry.rewritten = !entry.pair;
  }

  /**
   * A message every recipient of which is done leaves the queue: the file that makes it queued goes
   * first (its message; an older version's envelope), then the rest, which `open` also removes.
   */
  async remove(mid: number): Promise<void> {
    const entry = this.entries.get(mid);
    if (!entry) throw new Error(`MID ${mid} is not queued`);
    const [first, second] = entry.pair ? [`${mid}.json`, `${mid}.eml`] : [`${mid}.msg`, entry.rewritten ? `${mid}.msg.json` : undefined];
    if (!entry.pair && this.free.length < FREE_FILES && entry.envelope.size <= FREE_FILE_BYTES) {
      const spare = this.tmpPath('free');
      renameSync(path.join(this.dir, first), spare);
      this.free.push(spare);
    } else {
      // unlink stays on the thread pool: freeing a file's blocks takes the file system far longer than creating it.
      await unlink(path.join(this.dir, first));
    }
    this.unindex(mid, entry);
    if (second) await unlink(path.join(this.dir, second)).catch(() => undefined);
  }

  /** A queued message's data; a DamagedMessage when it does not match its envelope (it is never sent short). */
  async read(mid: number): Promise<Buffer> {
    const recent = this.takeRecent(mid);
    if (recent) return recent;
    const entry = this.entries.get(mid);
    const file = path.join(this.dir, entry?.pair ? `${mid}.eml` : `${mid}.msg`);
    const data = await readFile(file).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (!data) throw new DamagedMessage(mid, 'its message file is missing');
    if (!entry) return data;
    // An older version's <MID>.eml is the message alone; a <MID>.msg ends with its envelope.
    const stored = entry.pair ? { messageBytes: data.length } : envelopeIn(data);
    const damage = typeof stored === 'string' ? stored : this.messageDamage(entry.envelope, stored.messageBytes);
    if (damage) throw new DamagedMessage(mid, damage);
    return data.subarray(0, entry.envelope.size);
  }

  private takeRecent(mid: number): Buffer | undefined {
    const data = this.recent.get(mid);
    if (data) {
      this.recent.delete(mid);
      this.recentBytes -= data.length;
    }
    return data;
  }

  private forgetRecent(): void {
    this.recent.clear();
    this.recentBytes = 0;
  }

  get size(): { messages: number; bytes: number } {
    return { messages: this.count, bytes: this.bytes };
  }

  /** When the oldest queued message was received (ISO), undefined when the queue is empty. */
  oldestReceivedAt(): string | undefined {
    let oldest: string | undefined;
    for (const { envelope: e } of this.entries.values()) if (oldest === undefined || e.receivedAt < oldest) oldest = e.receivedAt;
    return oldest;
  }

  /** Queued envelopes (those `keep` accepts), oldest MID first; copies, so a caller's edits count only through update(). */
  async list(keep?: (envelope: Readonly<Envelope>) => boolean): Promise<Envelope[]> {
    // Only the envelopes kept are copied: a pass over thousands of waiting messages copies none of them.
    const all = [...this.entries.values()].map((e) => e.envelope);
    const chosen = keep ? all.filter(keep) : all;
    return chosen.sort((a, b) => a.mid - b.mid).map((e) => structuredClone(e));
  }
}

/** An envelope file (an older version's <MID>.json, a rewritten <MID>.msg.json), or why it cannot be used. */
function readEnvelopeFile(file: string, mid: number): Envelope | string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return `not readable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  return parseEnvelope(text, mid);
}

/** A queue envelope from its JSON, or why it cannot be used. */
function parseEnvelope(text: string, mid: number): Envelope | string {
  let envelope: Envelope;
  try {
    envelope = JSON.parse(text) as Envelope;
  } catch (err) {
    return `not valid JSON (${(err as Error).message})`;
  }
  if (!envelope || typeof envelope !== 'object') return 'not an envelope';
  if (envelope.mid !== mid) return `it names MID ${String(envelope.mid)}`;
  if (typeof envelope.from !== 'string' || !Array.isArray(envelope.to) || envelope.to.some((t) => typeof t !== 'string')) return 'its sender or recipients are missing';
  if (!Number.isSafeInteger(envelope.size) || envelope.size < 0) return 'it gives no message size';
  return envelope;
}

/** A queued message whose data does not match its envelope. */
export class DamagedMessage extends Error {
  constructor(
    readonly mid: number,
    readonly why: string,
  ) {
    super(`MID ${mid}: ${why}`);
  }
}

/** The files kept for reuse (Spool.free): how many, and how large a message's file may be to be kept. */
const FREE_FILES = 64;
const FREE_FILE_BYTES = 256 * 1024;

/** Bytes of a message held in memory before they are written (MessageWriter). */
const BATCH = 64 * 1024;

/** What is left of `chunks` once their first `written` bytes are on disk. */
function unwritten(chunks: Buffer[], written: number): Buffer[] {
  let i = 0;
  while (i < chunks.length && written >= chunks[i]!.length) written -= chunks[i++]!.length;
  if (i === chunks.length) return [];
  return [chunks[i]!.subarray(written), ...chunks.slice(i + 1)];
}

/** The message's chunks copied into one buffer, when called (the recent-message cache may not take it). */
const inOneBuffer = (chunks: Buffer[], bytes: number) => () => Buffer.concat(chunks, bytes);

/** A message being received into the queue (Spool.receive). */
export class MessageWriter {
  private size = 0;
  private done = false;
  /** Some of the message is on disk already (else all of it is in `held`). */
  private flushed = false;
  /**
   * Chunks not yet written: a message arrives in many small pieces (TLS records, stream chunks),
   * and one write per piece was a tenth of the engine's time for 100 KB messages. They go out
   * together once BATCH bytes are held (memory per message stays bounded) and at commit.
   */
  private held: Buffer[] = [];
  private heldBytes = 0;

  constructor(
    private readonly fd: number,
    private readonly tmp: string,
    /** The file held an earlier message: what is left of it past this one is cut off at commit. */
    private readonly reused: boolean,
    /** Put the written file in the queue; `whole` makes the message when it never left memory. */
    private readonly publish: (envelope: Envelope, whole: (() => Buffer) | undefined) => Promise<void>,
  ) {}

  get bytes(): number {
    return this.size;
  }

  async write(chunk: Buffer): Promise<void> {
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    this.size += chunk.length;
    if (this.heldBytes >= BATCH) this.flush();
  }

  /** The held chunks in one writev, not copied together first (a short write is continued). */
  private flush(): void {
    if (this.heldBytes === 0) return;
    this.flushed = true;
    let chunks = this.held;
    this.held = [];
    this.heldBytes = 0;
    while (chunks.length > 0) chunks = unwritten(chunks, writevSync(this.fd, chunks));
  }

  /**
   * The envelope after the message (its `size` is what was written), one fsync, then queued.
   * A message that is still all in memory goes out in one write with its envelope.
   */
  async commit(envelope: Envelope): Promise<void> {
    this.done = true;
    const stored = { ...envelope, size: this.size };
    const whole = this.flushed ? undefined : inOneBuffer(this.held.slice(), this.heldBytes);
    try {
      const trailer = envelopeTrailer(stored);
      this.held.push(trailer);
      this.heldBytes += trailer.length;
      this.flush();
      if (this.reused) ftruncateSync(this.fd, this.size + trailer.length);
      await fsync(this.fd);
    } catch (err) {
      closeSync(this.fd);
      rmSync(this.tmp, { force: true });
      throw err;
    }
    closeSync(this.fd);
    try {
      await this.publish(stored, whole);
    } catch (err) {
      rmSync(this.tmp, { force: true });
      throw err;
    }
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    try {
      closeSync(this.fd);
    } catch {
      // closed already
    }
    rmSync(this.tmp, { force: true });
  }
}

/** On the thread pool: fsync waits for the disk, and creating a file waits for the file system's journal while other files' fsyncs commit it. */
const fsync = promisify(fsyncCallback);
const openFile = promisify(openCallback);
/** Temporary file names: unique in this process (the MID and the pid make them unique in the queue). */
let tmpSerial = 0;

/**
 * Queue a message the appliance wrote itself (a DSN, an alert): a new MID, an envelope that
 * names its origin in place of a client connection. Returns the MID.
 */
export async function enqueueGenerated(
  spool: Spool,
  ids: IdAllocator,
  origin: { listener: 'bounce' | 'alert' | 'tlsrpt'; hostname: string; from: string; to: string[]; requireTls?: boolean },
  data: Buffer,
): Promise<number> {
  const mid = ids.take('mid');
  const envelope: Envelope = { mid, icid: 0, listener: origin.listener, clientAddress: '', helo: origin.hostname, from: origin.from, to: origin.to, size: data.length, receivedAt: new Date().toISOString(), state: 'queued', attempts: 0 };
  // Alerts and TLS reports must get out even where the TLS they report on is failing.
  if (origin.listener === 'alert' || origin.listener === 'tlsrpt') envelope.alert = true;
  if (origin.requireTls) envelope.requireTls = true;
  await spool.enqueue(envelope, data);
  return mid;
}
