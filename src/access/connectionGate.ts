import type net from 'node:net';

export interface GateLimits {
  /** Connections at once from one address that have not passed (logged in). */
  perAddress: number;
  /** Connections at once that have not passed; past it the oldest is closed to make room. */
  total: number;
  /** Time from TCP accept to passing; 0 for none. */
  deadlineMs: number;
}

/** How refusals are worded: what a waiting connection waits for, and what it did not do in time. */
export interface GateWords {
  /** "waiting to log in" */
  waiting: string;
  /** "no login" */
  late: string;
}

interface Entry {
  socket: net.Socket;
  address: string;
  timer?: NodeJS.Timeout;
  done: boolean;
}

/** How often one address's refusals are written down (each refusal is logged once per minute and address). */
const LOG_EVERY_MS = 60_000;

/**
 * What a stranger can hold before logging in, bounded: connections that have not passed are
 * counted per address and in total from the moment TCP accepts them, and each must pass within
 * the deadline. When the total is reached the oldest waiting connection is closed, not the new
 * one: a flood of silent connections cannot keep an administrator (whose login takes a moment)
 * from getting in. A passed connection no longer counts here.
 */
export class ConnectionGate {
  /** Oldest first (a Set keeps insertion order). */
  private readonly waiting = new Set<Entry>();
  private readonly byAddress = new Map<string, number>();
  private readonly logged = new Map<string, number>();

  constructor(
    private readonly limits: () => GateLimits,
    private readonly words: GateWords,
    private readonly refused: (address: string, why: string) => void,
  ) {}

  /** A new TCP connection: admitted (call pass() once it logged in) or closed at once. */
  admit(socket: net.Socket): { pass: () => void } | undefined {
    const limits = this.limits();
    const address = socket.remoteAddress ?? 'unknown';
    if ((this.byAddress.get(address) ?? 0) >= limits.perAddress) {
      this.note(address, `${limits.perAddress} connections from this address are already ${this.words.waiting}`);
      socket.destroy();
      return undefined;
    }
    if (this.waiting.size >= limits.total) {
      const oldest = this.waiting.values().next().value!;
      this.note(oldest.address, `closed to make room: ${limits.total} connections were ${this.words.waiting}`);
      this.release(oldest);
      oldest.socket.destroy();
    }
    const entry: Entry = { socket, address, done: false };
    if (limits.deadlineMs > 0) {
      entry.timer = setTimeout(() => {
        this.note(address, `${this.words.late} within ${limits.deadlineMs / 1000} s of connecting`);
        this.release(entry);
        socket.destroy();
      }, limits.deadlineMs);
    }
    this.waiting.add(entry);
    this.byAddress.set(address, (this.byAddress.get(address) ?? 0) + 1);
    socket.once('close', () => this.release(entry));
    return { pass: () => this.release(entry) };
  }

  private release(entry: Entry): void {
    if (entry.done) return;
    entry.done = true;
    clearTimeout(entry.timer);
    this.waiting.delete(entry);
    const n = (this.byAddress.get(entry.address) ?? 1) - 1;
    if (n > 0) this.byAddress.set(entry.address, n);
    else this.byAddress.delete(entry.address);
  }

 private note(address: string, why: string): void {
    const t = Date.now();
    if (t - (this.logged.get(address) ?? -Infinity) < LOG_EVERY_MS) return;
    if (this.logged.size > 10_000) this.logged.clear();
    this.logged.set(address, t);
    this.refused(address, why);
  }
}
