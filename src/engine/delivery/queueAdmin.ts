import { recipientStates } from '../queue/spool.js';
import type { BounceProfile } from '../../store/bounces/profiles.js';
import { type ProfiledRecipient, sendBounces } from './bounceMessages.js';
import { localReply, STATUS } from './outcome.js';
import { type ProgressDeps, recordProgress } from './progress.js';
import type { QueuedRecipient } from '../../control/status.js';

/** What queue administration needs of the scheduler that works the same queue. */
export interface SchedulerHandle {
  /** Run `work` while no delivery pass writes envelopes; the scheduler waits for it. */
  exclusive<T>(work: () => Promise<T>): Promise<T>;
  /** Forget waits (dead destinations, parked messages) for `domain`, or all, so their mail is tried now. */
  forgetWaits(domain?: string): void;
  /** Look at the queue now. */
  kick(): void;
  /** The bounce profile mail for `domain` follows under the configuration in force. */
  bounceProfileFor(domain: string): BounceProfile;
}

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();

/**
 * The queue commands (showrecipients, bouncerecipients, deliverynow): they read and change the
 * queue the scheduler works, through the scheduler's handle so no envelope is written by two hands.
 */
export class QueueAdmin {
  constructor(
    private readonly deps: ProgressDeps,
    private readonly scheduler: SchedulerHandle,
  ) {}

  /** deliverynow: retry everything (or one domain) at once. */
  async deliverNow(domain?: string): Promise<number> {
    this.scheduler.forgetWaits(domain?.toLowerCase());
    let n = 0;
    for (const env of await this.deps.spool.list()) {
      if (domain && !env.to.some((a) => domainOf(a) === domain.toLowerCase())) continue;
      if (env.nextAttemptAt) {
        delete env.nextAttemptAt;
        await this.deps.spool.update(env);
      }
      n += 1;
    }
    this.scheduler.kick();
    return n;
  }

  /** Queue contents for showrecipients. */
  async recipients(): Promise<QueuedRecipient[]> {
    const out: QueuedRecipient[] = [];
    for (const env of await this.deps.spool.list()) {
      const states = recipientStates(env);
      env.to.forEach((address, rid) => {
        const state = states[rid]!;
        if (state.status !== 'pending') return;
        out.push({ mid: env.mid, rid, from: env.from, to: address, receivedAt: env.receivedAt, attempts: state.attempts, nextAttemptAt: env.nextAttemptAt ?? null, lastResponse: state.lastResponse ?? null });
      });
    }
    return out;
  }

  /** bouncerecipients: give up on matching pending recipients now; the senders get DSNs as their bounce profiles say. */
  async bounceRecipients(match: { domain?: string; sender?: string; mid?: number }): Promise<number> {
    const count = await this.scheduler.exclusive(async () => {
      let count = 0;
      for (const env of await this.deps.spool.list()) {
        if (match.mid !== undefined && env.mid !== match.mid) continue;
        if (match.sender !== undefined && env.from.toLowerCase() !== match.sender.toLowerCase()) continue;
        const states = recipientStates(env);
        const failed: ProfiledRecipient[] = [];
        env.to.forEach((address, rid) => {
          if (states[rid]!.status !== 'pending' || (match.domain !== undefined && domainOf(address) !== match.domain.toLowerCase())) return;
          states[rid]!.status = 'bounced';
          const last = states[rid]!.lastResponse;
          failed.push({ address, outcome: localReply('permanent', STATUS.byAdministrator, `bounced by the administrator${last ? `; last error: ${last}` : ''}`), profile: this.scheduler.bounceProfileFor(domainOf(address)) });
          this.deps.log.info(`Bounced: MID ${env.mid} RID [${rid}] - bounced by the administrator`);
        });
        if (!failed.length) continue;
        count += failed.length;
        env.recipients = states;
        if (env.from) await sendBounces(this.deps, env, await this.deps.spool.read(env.mid).catch(() => Buffer.alloc(0)), failed);
        await recordProgress(this.deps, env);
      }
      return count;
    });
    this.scheduler.kick();
    return count;
  }
}
