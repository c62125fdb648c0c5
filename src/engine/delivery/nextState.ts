import type { BounceProfile } from '../../store/bounces/profiles.js';
import { type Outcome, STATUS } from './outcome.js';

export type BounceSettings = Pick<BounceProfile, 'maxRetries' | 'maxQueueSeconds' | 'retryInitialSeconds' | 'retryMaxSeconds'>;

/** What becomes of a recipient after an attempt. `outcome` of bounce and expire is what the DSN says. */
export type NextState =
  | { state: 'delivered' }
  | { state: 'retry'; waitSeconds: number }
  | { state: 'bounce'; outcome: Outcome }
  | { state: 'expire'; outcome: Outcome };

export interface RecipientProgress {
  /** Attempts made for this recipient, this one included. */
  attempts: number;
  /** Time the message has spent in the queue. */
  ageMs: number;
  bounce: BounceSettings;
  /** A wait decided by whoever held the recipient back (a recipient limit), instead of the back-off. */
  waitSeconds?: number;
}

/** Exponential back-off from the destination's initial interval, capped at its maximum. */
export function backoffSeconds(attempts: number, bounce: Pick<BounceSettings, 'retryInitialSeconds' | 'retryMaxSeconds'>): number {
  return Math.min(bounce.retryInitialSeconds * 2 ** Math.max(attempts - 1, 0), bounce.retryMaxSeconds);
}

export function expired(ageMs: number, bounce: Pick<BounceSettings, 'maxQueueSeconds'>): boolean {
  return ageMs > bounce.maxQueueSeconds * 1000;
}

/** Every retry the bounce profile allows has been made (the first attempt is not a retry). */
export const retriesUsedUp = (attempts: number, bounce: Pick<BounceSettings, 'maxRetries'>): boolean => attempts - 1 >= bounce.maxRetries;

/**
 * The retry / bounce / expiry decision for one recipient, from its outcome alone: delivered is
 * done; a permanent failure bounces; a temporary one is retried after the back-off, unless the
 * message has been in the queue longer than its bounce profile allows or has used up the profile's
 * retries — then it expires, and the DSN keeps the last failure's status code (as Postfix does).
 */
export function nextState(outcome: Outcome, progress: RecipientProgress): NextState {
  if (outcome.kind === 'delivered') return { state: 'delivered' };
  if (outcome.kind === 'permanent') return { state: 'bounce', outcome };
  const why = expired(progress.ageMs, progress.bounce)
    ? `message expired after ${progress.bounce.maxQueueSeconds} s in the queue`
    : // Held back by a recipient limit is not an attempt: attempts did not grow, and it never counts as a retry.
      progress.waitSeconds === undefined && retriesUsedUp(progress.attempts, progress.bounce)
      ? `maximum number of retries (${progress.bounce.maxRetries}) reached`
      : undefined;
  if (why) {
    return {
      state: 'expire',
      // RFC 8689 §4.2.1: a REQUIRETLS message that never found a host bounces with 5.7.30.
      outcome: { kind: 'permanent', status: outcome.status === STATUS.requireTls('temporary') ? STATUS.requireTls('permanent') : outcome.status, text: `${why}; last error: ${outcome.text}` },
    };
  }
  return { state: 'retry', waitSeconds: progress.waitSeconds ?? backoffSeconds(progress.attempts, progress.bounce) };
}
