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

  open(): void {
    try {
      const saved = JSON.parse(readFileSync(this.file, 'utf8')) as Partial<Record<IdKind, number>>;
      for (const k of KINDS) if (Number.isSafeInteger(saved[k])) this.next[k] = this.limit[k] = saved[k]!;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const k of KINDS) this.limit[k] = this.next[k];
    this.reserve();
  }

  take(kind: IdKind): number {
    if (this.next[kind] >= this.limit[kind]) this.reserve();
    return this.next[kind]++;
  }

  private reserve(): void {
    for (const k of KINDS) if (this.next[k] + BLOCK / 10 >= this.limit[k]) this.limit[k] = this.next[k] + BLOCK;
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(this.limit) + '\n');
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
  }
}
