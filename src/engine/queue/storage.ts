import { statfsSync } from 'node:fs';

const MB = 1024 * 1024;
const HEADROOM = 1024 * MB;

/**
 * The free-space reserve of the queue's file system (Postfix's queue_minfree): below it the
 * listeners refuse new mail with 452 4.3.1 (a temporary refusal: senders retry), while queued mail
 * keeps being delivered; acceptance resumes by itself when space returns.
 */
export class StorageGuard {
  constructor(
    private readonly dir: string,
    private readonly reserveMb: () => number,
  ) {}

  private last?: { at: number; free: number };

  /**
   * Bytes available to the engine's user; Infinity when the file system cannot be asked. Asked at
   * every connection and every MAIL FROM: far above the reserve (by more than HEADROOM) an answer
   * up to a second old is used, since no queue fills a gigabyte in a second; near the reserve
   * every question goes to the file system.
   */
  freeBytes(): number {
    const now = Date.now();
    const last = this.last;
    if (last && now - last.at < 1000 && last.free - this.reserveMb() * MB > HEADROOM) return last.free;
    let free: number;
    try {
      const s = statfsSync(this.dir);
      free = Number(s.bavail) * Number(s.bsize);
    } catch {
      free = Infinity;
    }
    this.last = { at: now, free };
    return free;
  }

  /** Is there room above the reserve for a message of `size` bytes? */
  accepting(size = 0): boolean {
    return this.freeBytes() - size >= this.reserveMb() * MB;
  }

  /** So little space that even the log cannot be trusted to be written: new connections get 421. */
  exhausted(): boolean {
    return this.freeBytes() < 256 * 1024;
  }

  state(): { freeMb: number; reserveMb: number; accepting: boolean } {
    const free = this.freeBytes();
    return { freeMb: Number.isFinite(free) ? Math.floor(free / 1024 / 1024) : -1, reserveMb: this.reserveMb(), accepting: this.accepting() };
  }
}
