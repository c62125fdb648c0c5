import { readFile, rm } from 'node:fs/promises';
import type { PendingConfirmation } from '../control/status.js';
import { writeFileAtomic } from '../store/atomic.js';

/**
 * `commit confirmed MINUTES`: the version is in service at once and is undone unless confirmed
 * (`commit confirm`, or any later commit) before its deadline — as Junos does, for changes that
 * may cut the administrator off. The deadline is kept on disk, so a restart does not forget it:
 * an engine that starts after the deadline goes back at once.
 */

/** Why a commit confirmed went back: for the rollback's comment, the log and the alert. */
export const unconfirmedReason = (p: PendingConfirmation): string => `version ${p.version} (commit confirmed by ${p.user}) was not confirmed within ${p.minutes} minute(s)`;

export interface ConfirmationDeps {
  file: string;
  log: { info(m: string): void; warning(m: string): void };
  /** Go back to `pending.previous` (a new version); what happened is the engine's to say. */
  rollBack: (pending: PendingConfirmation) => Promise<void>;
}

export class CommitConfirmation {
  private current: PendingConfirmation | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly deps: ConfirmationDeps) {}

  async open(): Promise<void> {
    try {
      this.current = JSON.parse(await readFile(this.deps.file, 'utf8')) as PendingConfirmation;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.deps.log.warning(`The confirmation deadline in ${this.deps.file} cannot be read (${(err as Error).message}); no commit waits for confirmation`);
      this.current = undefined;
    }
    if (this.current) this.schedule();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  pending(): PendingConfirmation | undefined {
    return this.current;
  }

  /**
   * A `commit confirmed` was applied. When another one was still waiting, going back still means
   * going back to before the first: what was confirmed by nobody is not a base.
   */
  async start(version: number, previous: number, minutes: number, user: string): Promise<PendingConfirmation> {
    const pending = { version, previous: this.current?.previous ?? previous, minutes, user, deadline: new Date(Date.now() + minutes * 60_000).toISOString() };
    await writeFileAtomic(this.deps.file, JSON.stringify(pending), 0o600);
    this.current = pending;
    this.schedule();
    return pending;
  }

  /** `commit confirm` or a later commit: the version stays. Returns what was waiting, if anything. */
  async confirm(): Promise<PendingConfirmation | undefined> {
    const was = this.current;
    if (!was) return undefined;
    await rm(this.deps.file, { force: true });
    this.current = undefined;
    clearTimeout(this.timer);
    return was;
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (this.closed || !this.current) return;
    // setTimeout holds at most ~24.8 days; deadlines are at most a day away.
    const wait = Math.max(0, Date.parse(this.current.deadline) - Date.now());
    this.timer = setTimeout(() => void this.expire(), wait);
    this.timer.unref();
  }

  private async expire(): Promise<void> {
    const pending = this.current;
    if (!pending || this.closed) return;
    try {
      await this.deps.rollBack(pending);
      if (this.current === pending) await this.confirm();
    } catch (err) {
      // Tried again in a minute: the change that was not confirmed must not stay by accident.
      this.deps.log.warning(`Going back from unconfirmed version ${pending.version} to version ${pending.previous} failed: ${(err as Error).message}; trying again in a minute`);
      clearTimeout(this.timer);
      if (!this.closed) this.timer = setTimeout(() => void this.expire(), 60_000).unref();
    }
  }
}
