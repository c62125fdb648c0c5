import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ensureDir, writeFileAtomic } from '../../store/atomic.js';
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

/**
 * The durable queue: queue/<MID>.eml holds the message, queue/<MID>.json its envelope. The
 * envelope is written last, so a message counts as queued only once both are on disk (fsynced);
 * that happens before the SMTP 250 reply. The envelopes are read from disk once, at open; after
 * that the engine (the only writer) keeps them in memory too, so a delivery pass reads no files
 * to find what is due.
 */
export class Spool {
  private count = 0;
  private bytes = 0;
  private readonly envelopes = new Map<number, Envelope>();

  /**
   * `indexed: false` is a listener worker's view: it writes messages into the queue and tells the
   * engine (which adopts them), keeping nothing in memory itself.
   */
  constructor(
    private readonly dir: string,
    private readonly options: { indexed: boolean } = { indexed: true },
  ) {}

  /**
   * Scan the queue directory; drop half-written messages left by a crash. Synchronous reads: this
   * runs once before the engine serves anything, and one promise per small file costs ~10x more.
   */
  async open(): Promise<string[]> {
    const repairs: string[] = [];
    await ensureDir(this.dir);
    this.count = 0;
    this.bytes = 0;
    this.envelopes.clear();
    // Envelopes first: a damaged one is set aside with its message before anything is counted.
    for (const n of (await readdir(this.dir)).filter((x) => /^\d+\.json$/.test(x))) {
      const mid = Number(n.slice(0, -5));
      const envelope = this.readEnvelope(path.join(this.dir, n), mid);
      const damage = typeof envelope === 'string' ? envelope : this.messageDamage(envelope, statSync(this.messageFile(mid), { throwIfNoEntry: false })?.size);
      if (damage) repairs.push(this.quarantine(mid, damage));
      else this.envelopes.set(mid, envelope as Envelope);
    }
    for (const n of await readdir(this.dir)) {
      const full = path.join(this.dir, n);
      if (n.endsWith('.tmp') || (/^\d+\.eml$/.test(n) && !this.envelopes.has(Number(n.slice(0, -4))))) {
        rmSync(full, { force: true });
      } else if (/^\d+\.eml$/.test(n)) {
        this.count += 1;
        this.bytes += statSync(full).size;
      }
    }
    return repairs;
  }

  /** A queue envelope as read at start, or why it cannot be used. */
  private readEnvelope(file: string, mid: number): Envelope | string {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(readFileSync(file, 'utf8')) as Envelope;
    } catch (err) {
      return `not valid JSON (${(err as Error).message})`;
    }
    if (!envelope || typeof envelope !== 'object') return 'not an envelope';
    if (envelope.mid !== mid) return `it names MID ${String(envelope.mid)}`;
    if (typeof envelope.from !== 'string' || !Array.isArray(envelope.to) || envelope.to.some((t) => typeof t !== 'string')) return 'its sender or recipients are missing';
    if (!Number.isSafeInteger(envelope.size) || envelope.size < 0) return 'it gives no message size';
    return envelope;
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
    const envelope = this.envelopes.get(mid);
    if (envelope) {
      this.envelopes.delete(mid);
      this.count -= 1;
      this.bytes -= envelope.size;
    }
    return this.quarantine(mid, why);
  }

  /** Move a damaged message out of the way (queue/corrupt/), so the engine starts and nothing is deleted. */
  private quarantine(mid: number, why: string): string {
    const corrupt = path.join(this.dir, 'corrupt');
    mkdirSync(corrupt, { recursive: true, mode: 0o700 });
    for (const ext of ['json', 'eml']) {
      try {
        renameSync(path.join(this.dir, `${mid}.${ext}`), path.join(corrupt, `${mid}.${ext}`));
      } catch {
        // the data file may be missing
      }
    }
    return `queue/${mid}.json of MID ${mid} cannot be used (${why}); moved with its message to queue/corrupt/, nothing was sent`;
  }

  /**
   * Receive a message straight to disk (memory does not grow with its size): chunks go to a
   * temporary file in the queue directory; `commit` fsyncs it, renames it to <MID>.eml and writes
   * the envelope (only then is the message queued); `abort` removes it. A crash leaves a .tmp that
   * `open` removes.
   */
  async receive(mid: number): Promise<MessageWriter> {
    // The process id in the name lets the engine remove what a worker that died was receiving.
    const tmp = path.join(this.dir, `.${mid}.eml.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    const fh = await open(tmp, 'wx', 0o600);
    return new MessageWriter(fh, tmp, async (size, envelope) => {
      await rename(tmp, this.messageFile(mid));
      try {
        await writeFileAtomic(path.join(this.dir, `${mid}.json`), JSON.stringify({ ...envelope, size }) + '\n');
      } catch (err) {
        await unlink(this.messageFile(mid)).catch(() => undefined);
        throw err;
      }
      if (this.options.indexed) this.adopt({ ...envelope, size });
    });
  }

  /** A message another process (a listener worker) has put in the queue. */
  adopt(envelope: Envelope): void {
    if (this.envelopes.has(envelope.mid)) return;
    this.envelopes.set(envelope.mid, structuredClone(envelope));
    this.count += 1;
    this.bytes += envelope.size;
  }

  /**
   * After a listener worker died: messages it queued that the engine was not told of yet (it was
   * killed between the envelope and its report) are adopted, and what it was still receiving
   * (temporary files named with its pid) is removed. Returns the MIDs adopted.
   */
  async recoverFrom(pid: number): Promise<number[]> {
    const adopted: number[] = [];
    for (const n of await readdir(this.dir)) {
      if (n.endsWith('.tmp') && n.includes(`.eml.${pid}.`)) await unlink(path.join(this.dir, n)).catch(() => undefined);
      if (!/^\d+\.json$/.test(n)) continue;
      const mid = Number(n.slice(0, -5));
      if (this.envelopes.has(mid)) continue;
      const envelope = this.readEnvelope(path.join(this.dir, n), mid);
      if (typeof envelope === 'string') continue;
      this.adopt(envelope);
      adopted.push(mid);
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
    await writeFileAtomic(path.join(this.dir, `${envelope.mid}.json`), JSON.stringify(envelope) + '\n');
    this.envelopes.set(envelope.mid, structuredClone(envelope));
  }

  /** A message every recipient of which is done leaves the queue: envelope first, then the data. */
  async remove(mid: number): Promise<void> {
    const size = (await stat(this.messageFile(mid)).catch(() => undefined))?.size ?? 0;
    await unlink(path.join(this.dir, `${mid}.json`));
    this.envelopes.delete(mid);
    await unlink(this.messageFile(mid)).catch(() => undefined);
    this.count -= 1;
    this.bytes -= size;
  }

  /** A queued message's data; a DamagedMessage when it does not match its envelope (it is never sent short). */
  async read(mid: number): Promise<Buffer> {
    const data = await readFile(this.messageFile(mid)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    const envelope = this.envelopes.get(mid);
    const damage = envelope && this.messageDamage(envelope, data?.length);
    if (damage || !data) throw new DamagedMessage(mid, damage ?? 'its message file is missing');
    return data;
  }

  get size(): { messages: number; bytes: number } {
    return { messages: this.count, bytes: this.bytes };
  }

  /** When the oldest queued message was received (ISO), undefined when the queue is empty. */
  oldestReceivedAt(): string | undefined {
    let oldest: string | undefined;
    for (const e of this.envelopes.values()) if (oldest === undefined || e.receivedAt < oldest) oldest = e.receivedAt;
    return oldest;
  }

  /** Queued envelopes (those `keep` accepts), oldest MID first; copies, so a caller's edits count only through update(). */
  async list(keep?: (envelope: Readonly<Envelope>) => boolean): Promise<Envelope[]> {
    // Only the envelopes kept are copied: a pass over thousands of waiting messages copies none of them.
    const chosen = keep ? [...this.envelopes.values()].filter(keep) : [...this.envelopes.values()];
    return chosen.sort((a, b) => a.mid - b.mid).map((e) => structuredClone(e));
  }

  messageFile(mid: number): string {
    return path.join(this.dir, `${mid}.eml`);
  }
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

/** A message being received into the queue (Spool.receive). */
/** Bytes of a message held in memory before they are written (MessageWriter). */
const BATCH = 64 * 1024;

export class MessageWriter {
  private size = 0;
  private done = false;
  /**
   * Chunks not yet written: a message arrives in many small pieces (TLS records, stream chunks),
   * and one write per piece was a tenth of the engine's time for 100 KB messages. They go out
   * together once BATCH bytes are held (memory per message stays bounded) and at commit.
   */
  private held: Buffer[] = [];
  private heldBytes = 0;

  constructor(
    private readonly fh: FileHandle,
    private readonly tmp: string,
    private readonly publish: (size: number, envelope: Envelope) => Promise<void>,
  ) {}

  get bytes(): number {
    return this.size;
  }

  async write(chunk: Buffer): Promise<void> {
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    this.size += chunk.length;
    if (this.heldBytes >= BATCH) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.heldBytes === 0) return;
    let data = this.held.length === 1 ? this.held[0]! : Buffer.concat(this.held, this.heldBytes);
    this.held = [];
    this.heldBytes = 0;
    while (data.length > 0) data = data.subarray((await this.fh.write(data)).bytesWritten);
  }

  /** On disk for good (fsync), then queued under its envelope; `size` in the envelope is what was written. */
  async commit(envelope: Envelope): Promise<void> {
    this.done = true;
    try {
      await this.flush();
      await this.fh.sync();
      await this.fh.close();
    } catch (err) {
      await unlink(this.tmp).catch(() => undefined);
      throw err;
    }
    try {
      await this.publish(this.size, envelope);
    } catch (err) {
      await unlink(this.tmp).catch(() => undefined);
      throw err;
    }
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.fh.close().catch(() => undefined);
    await unlink(this.tmp).catch(() => undefined);
  }
}

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
