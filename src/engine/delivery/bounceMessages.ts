import type { BounceProfile } from '../../store/bounces/profiles.js';
import type { Envelope } from '../queue/spool.js';
import type { Failed } from './dsn.js';
import { type ProgressDeps, queueDsn } from './progress.js';

/**
 * What the sender hears about an attempt, as each recipient's bounce profile says: a DSN for hard
 * bounces (unless the profile sends none), delay warnings while mail waits, either to the sender
 * or to the profile's alternate address. Mail with a null sender never gets either.
 */

/** A recipient with the bounce profile of its destination. */
export interface ProfiledRecipient extends Failed {
  profile: BounceProfile;
}

/** Recipients grouped by where their messages go: one DSN per address. */
function byAddress(env: Envelope, recipients: ProfiledRecipient[]): Map<string, Failed[]> {
  const groups = new Map<string, Failed[]>();
  for (const r of recipients) {
    const to = r.profile.alternateAddress ?? env.from;
    groups.set(to, [...(groups.get(to) ?? []), { address: r.address, outcome: r.outcome }]);
  }
  return groups;
}

/** Hard bounces: true when a DSN was queued. */
export async function sendBounces(deps: ProgressDeps, env: Envelope, message: Buffer, bounced: ProfiledRecipient[]): Promise<boolean> {
  if (!env.from || bounced.length === 0) return false;
  const silent = bounced.filter((r) => !r.profile.hardBounces);
  for (const r of silent) deps.log.info(`MID ${env.mid} no bounce message for <${r.address}>: bounce profile ${r.profile.name} sends none`);
  const told = bounced.filter((r) => r.profile.hardBounces);
  for (const [to, failed] of byAddress(env, told)) await queueDsn(deps, env, message, failed, { to });
  return told.length > 0;
}

/**
 * Delay warnings for recipients that are to be retried, when a profile asks for them: the first
 * once the message has waited the profile's interval, then at most one per interval, up to the
 * profile's count (per message). Records what was sent in the envelope; true when one was queued.
 */
export async function sendDelayWarnings(deps: ProgressDeps, env: Envelope, message: Buffer, waiting: ProfiledRecipient[], now: number): Promise<boolean> {
  if (!env.from) return false;
  const sent = env.delayWarnings?.sent ?? 0;
  const since = Date.parse(env.delayWarnings?.lastAt ?? env.receivedAt);
  const due = waiting.filter((r) => r.profile.delayWarnings && sent < r.profile.delayWarnings.maxWarnings && now - since >= r.profile.delayWarnings.intervalSeconds * 1000);
  if (due.length === 0) return false;
  // Retried until the earliest expiry among them (their profiles' maximum time in queue).
  const willRetryUntil = new Date(Date.parse(env.receivedAt) + Math.min(...due.map((r) => r.profile.maxQueueSeconds)) * 1000);
  for (const [to, delayed] of byAddress(env, due)) await queueDsn(deps, env, message, delayed, { to, what: { kind: 'delay', willRetryUntil } });
  env.delayWarnings = { sent: sent + 1, lastAt: new Date(now).toISOString() };
  return true;
}
