import type { PolicyName } from './policy/identity.js';
import type { Decision, Observation } from './policy/tlsDecision.js';

import { type HourCounts, noOutcomes, type TlsFailureReason, type TlsOutcome } from '../../control/status.js';

export type { TlsFailureReason, TlsOutcome } from '../../control/status.js';

/** The outcome of a session that carried mail: which check, if any, authenticated the peer. */
export function classifySession(decision: Decision, observation: Observation | null, policies: PolicyName[]): TlsOutcome {
  if (decision.action !== 'send-tls') return decision.action === 'send-clear' ? 'clear' : 'failed';
  if (!decision.verified) return 'tls';
  if (observation?.stage === 'secure' && observation.verification?.ok && observation.verification.by === 'DANE') return 'dane';
  return policies.includes('MTA-STS') ? 'mta-sts' : 'verified';
}


/**
 * How each outbound message went, by TLS outcome, per hour for the last 24 hours: what the
 * dashboard's chart shows. Counted once per message and destination domain; kept in memory (a
 * restart starts the chart again, like the appliance's live counters).
 */
export class TlsOutcomeCounter {
  private readonly hours = new Map<number, Record<TlsOutcome, number>>();

  record(outcome: TlsOutcome, now = Date.now()): void {
    const hour = Math.floor(now / 3_600_000);
    let counts = this.hours.get(hour);
    if (!counts) {
      counts = noOutcomes();
      this.hours.set(hour, counts);
      for (const h of this.hours.keys()) if (h <= hour - 24) this.hours.delete(h);
    }
    counts[outcome] += 1;
  }

  /** The last 24 hours, oldest first, each with its start time (ISO) and counts (zeros included). */
  last24Hours(now = Date.now()): HourCounts[] {
    const current = Math.floor(now / 3_600_000);
    const out: HourCounts[] = [];
    for (let h = current - 23; h <= current; h += 1) {
      const counts = this.hours.get(h) ?? noOutcomes();
      out.push({ hour: new Date(h * 3_600_000).toISOString(), ...counts });
    }
    return out;
  }
}

/** Why a connection carried nothing, in the classes tlsreport counts. */
export function failureReason(obs: Observation | null, why: string): TlsFailureReason {
  if (obs?.stage === 'no-starttls' || obs?.stage === 'no-esmtp' || obs?.stage === 'starttls-refused') return 'no STARTTLS';
  if (obs?.stage === 'handshake-failed') return 'handshake failed';
  if (/bogus/i.test(why)) return 'DNSSEC bogus';
  if (/DANE|TLSA/.test(why)) return 'DANE mismatch';
  if (/MTA-STS/.test(why)) return 'MTA-STS';
  if (/expired|not yet valid/i.test(why)) return 'certificate expired';
  if (/name|hostname|altname/i.test(why)) return 'name mismatch';
  if (/certificate|verif|chain|issuer/i.test(why)) return 'certificate invalid';
  return 'other';
}
