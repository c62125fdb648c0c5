import { statfsSync } from 'node:fs';

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

  /** Bytes available to the engine's user; Infinity when the file system cannot be asked. */
  freeBytes(): number {
    try {
      const s = statfsSync(this.dir);
      return Number(s.bavail) * Number(s.bsize);
    } catch {
      return Infinity;
    }
  }

  /** Is there room above the reserve for a message of `size` bytes? */
  accepting(size = 0): boolean {
    return this.freeBytes() - size >= this.reserveMb() * 1024 * 1024;
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
