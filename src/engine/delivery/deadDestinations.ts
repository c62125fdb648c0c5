/**
 * Destinations whose every host refused or timed out are marked down for a while, as Postfix's
 * queue manager does with a dead destination: the messages for them wait in the queue without
 * each one making its own connection and rewriting its envelope. When the wait is over one
 * message goes as the probe; while it is out the others still wait. The probe getting through
 * brings the destination up again (and the queue moves at once); its failure doubles the wait,
 * up to the destination's maximum retry interval.
 */
interface Down {
  until: number;
  seconds: number;
  reason: string;
  probing: boolean;
}

export type Admission = 'go' | 'probe' | 'wait';

export class DeadDestinations {
  private readonly down = new Map<string, Down>();

  /** May mail go to `domain` now? 'probe' is given once per wait, to one message. */
  admit(domain: string, now = Date.now()): Admission {
    const d = this.down.get(domain);
    if (!d) return 'go';
    if (d.probing || now < d.until) return 'wait';
    d.probing = true;
    return 'probe';
  }

  /** Would `admit` say 'wait' (without taking the probe)? */
  waiting(domain: string, now = Date.now()): boolean {
    const d = this.down.get(domain);
    return d !== undefined && (d.probing || now < d.until);
  }

  /**
   * No host of `domain` could be reached: mark it down, or double its wait after a failed probe.
   * Attempts that were already under way when it went down change nothing (`first` is false).
   */
  unreachable(domain: string, reason: string, backoff: { initialSeconds: number; maxSeconds: number }, probe: boolean, now = Date.now()): { seconds: number; first: boolean } | undefined {
    const d = this.down.get(domain);
    if (d && !probe) return undefined;
    const seconds = d ? Math.min(d.seconds * 2, backoff.maxSeconds) : Math.min(backoff.initialSeconds, backoff.maxSeconds);
    this.down.set(domain, { until: now + seconds * 1000, seconds, reason, probing: false });
    return { seconds, first: d === undefined };
  }

  /** A host of `domain` answered: it is up. Returns whether it had been down. */
  reachable(domain: string): boolean {
    return this.down.delete(domain);
  }

  /** A probe that ended without a verdict (e.g. the engine stops) leaves the way open for another. */
  release(domain: string): void {
    const d = this.down.get(domain);
    if (d) d.probing = false;
  }

  /** When the next wait ends (to look at the queue then), or undefined. */
  nextEnd(): number | undefined {
    let next: number | undefined;
    for (const d of this.down.values()) if (!d.probing && (next === undefined || d.until < next)) next = d.until;
    return next;
  }

  /** For status and showrecipients: what is down, until when, and why. */
  list(): { domain: string; until: Date; reason: string; probing: boolean }[] {
    return [...this.down].map(([domain, d]) => ({ domain, until: new Date(d.until), reason: d.reason, probing: d.probing }));
  }

  clear(domain?: string): void {
    if (domain === undefined) this.down.clear();
    else this.down.delete(domain);
  }
}
