/** destconfig recipient limit: at most `recipients` per `minutes`, per destination domain (or per MX address). */
export interface RecipientLimit {
  recipients: number;
  minutes: number;
}

/** "2 per 1 min", as the deferral texts say it. */
export const limitText = (limit: RecipientLimit): string => `${limit.recipients} per ${limit.minutes} min`;

/**
 * Limits per MX IP: the recipient limit counted for each mail exchanger address of one domain. The
 * delivery asks before connecting to an address (`hasRoom`) and takes slots when it offers
 * recipients on a session to it.
 */
export interface RecipientGate {
  /** The limit each address has. */
  readonly limit: RecipientLimit;
  /** May a recipient be offered to `host` now? */
  hasRoom(host: string): boolean;
  /** Take up to `wanted` slots for `host` now; returns how many were granted. */
  take(host: string, wanted: number): number;
  /** Give back `count` slots of the last take for `host`: nothing was offered (the kept session was gone). */
  giveBack(host: string, count: number): void;
  /** Seconds until a slot for `host` frees (at least 1). */
  waitSeconds(host: string): number;
}

/**
 * Sliding-window count of recipients handed to each destination domain. A slot is taken when a
 * recipient is offered to the peer (whatever the answer), so parallel deliveries can never go
 * over the limit together. Kept in memory: after a restart the window starts empty.
 */
export class RecipientRate {
  private readonly offered = new Map<string, number[]>();

  /** Take up to `wanted` slots for `domain` now; returns how many were granted. */
  take(domain: string, limit: RecipientLimit | null, wanted: number, now = Date.now()): number {
    if (!limit) return wanted;
    const times = this.window(domain, limit, now);
    const granted = Math.max(0, Math.min(wanted, limit.recipients - times.length));
    for (let i = 0; i < granted; i += 1) times.push(now);
    return granted;
  }

  /** Give back `count` slots taken at `at` that were never offered (nothing was tried: limits per MX IP). */
  giveBack(domain: string, count: number, at: number): void {
    const times = this.offered.get(domain);
    for (let i = 0; times && i < count; i += 1) {
      const index = times.lastIndexOf(at);
      if (index < 0) return;
      times.splice(index, 1);
    }
  }

  /** The same windows kept per mail exchanger address of `domain` (limits per MX IP). */
  perAddress(domain: string, limit: RecipientLimit): RecipientGate {
    const key = (host: string) => `${domain} ${host}`;
    const takenAt = new Map<string, number>();
    return {
      limit,
      hasRoom: (host) => this.window(key(host), limit, Date.now()).length < limit.recipients,
      take: (host, wanted) => {
        const now = Date.now();
        takenAt.set(host, now);
        return this.take(key(host), limit, wanted, now);
      },
      giveBack: (host, count) => this.giveBack(key(host), count, takenAt.get(host) ?? 0),
      waitSeconds: (host) => this.waitSeconds(key(host), limit),
    };
  }

  /** Seconds until the next slot for `domain` frees (at least 1). */
  waitSeconds(domain: string, limit: RecipientLimit, now = Date.now()): number {
    const times = this.window(domain, limit, now);
    if (times.length < limit.recipients) return 1;
    return Math.max(1, Math.ceil((times[0]! + limit.minutes * 60_000 - now) / 1000));
  }

  private window(domain: string, limit: RecipientLimit, now: number): number[] {
    const since = now - limit.minutes * 60_000;
    const times = (this.offered.get(domain) ?? []).filter((t) => t > since);
    this.offered.set(domain, times);
    return times;
  }
}
