import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';

export type IdKind = 'mid' | 'icid' | 'dcid';
const KINDS: IdKind[] = ['mid', 'icid', 'dcid'];
const BLOCK = 1000;

/**
 * Increasing message and connection numbers (MID, ICID, DCID) that are never reused, also across
 * crashes. Numbers are reserved on disk a block at a time, so the hot path writes nothing; after a
 * crash numbering resumes above the last reserved block.
 */
export class IdAllocator {
  private next: Record<IdKind, number> = { mid: 1, icid: 1, dcid: 1 };
  private limit: Record<IdKind, number> = { mid: 1, icid: 1, dcid: 1 };

  constructor(private readonly file: string) {}

  /**
   * Read the reserved numbers. A damaged file cannot say which numbers were used: numbering then
   * resumes above every MID in the queue (`usedMids`) and above the current time in seconds, far
   * beyond what any earlier run can have reached; what was done is returned for the log.
   */
  open(usedMids: number[] = []): string | undefined {
    let repair: string | undefined;
    try {
      const saved = JSON.parse(readFileSync(this.file, 'utf8')) as Partial<Record<IdKind, number>> | null;
      if (!saved || typeof saved !== 'object' || KINDS.some((k) => !Number.isSafeInteger(saved[k]))) throw new Error('it does not hold the three counters');
      for (const k of KINDS) this.next[k] = this.limit[k] = saved[k]!;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        const floor = Math.max(Math.floor(Date.now() / 1000), ...usedMids) + 1;
        for (const k of KINDS) this.next[k] = floor;
        repair = `${path.basename(this.file)} cannot be read (${(err as Error).message}); MID, ICID and DCID numbering resumes at ${floor}, above any number used before`;
      }
    }
    for (const k of KINDS) this.limit[k] = this.next[k];
    try {
      this.reserve();
    } catch (err) {
      // A full disk at start: numbers are reserved at the first take that can write (until then, temporary refusals).
      repair = `${repair ? `${repair}; ` : ''}numbers cannot be reserved yet (${(err as Error).message})`;
    }
    return repair;
  }

  /**
   * The next number. The next block is reserved while a tenth of the current one is left, so a
   * reservation that cannot be written (a full disk) is retried with the following numbers; only
   * when the reserved numbers run out does this throw (callers answer with a temporary error).
   */
  take(kind: IdKind): number {
    if (this.next[kind] + BLOCK / 10 >= this.limit[kind]) {
      try {
        this.reserve();
      } catch (err) {
        if (this.next[kind] >= this.limit[kind]) throw new Error(`no ${kind.toUpperCase()} can be reserved: ${(err as Error).message}`);
      }
    }
    return this.next[kind]++;
  }

  private reserve(): void {
    const limit = { ...this.limit };
    for (const k of KINDS) if (this.next[k] + BLOCK / 10 >= limit[k]) limit[k] = this.next[k] + BLOCK;
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(limit) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
    const dir = openSync(path.dirname(this.file), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
    // Only numbers that are on disk are handed out.
    this.limit = limit;
  }
}
