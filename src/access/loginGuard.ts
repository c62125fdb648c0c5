/**
 * Password guessing, bounded. The HTTPS and SSH logins share one guard, so failures count across both.
 *
 * - An attempt is counted when it begins, before the (slow, asynchronous) password check, and
 *   taken back only when it succeeds: any number of parallel attempts checks at most the limit.
 * - Each address may have `perAddress` attempts in flight or failed within `addressWindowMs`
 *   (whatever the accounts), then waits until the oldest leaves the window.
 * - `perAccount` failures in a row for one account from one address lock that account for that
 *   address for `lockMs`. Other addresses are not affected, so nobody can lock an administrator
 *   out from elsewhere by failing on purpose; `unlock` lifts an account's locks at once.
 * - Public-key logins are not guesses and do not go through the guard at all.
 */
export const LOGIN_LIMITS = { perAddress: 5, addressWindowMs: 5 * 60_000, perAccount: 5, lockMs: 15 * 60_000 };

const MAX_ENTRIES = 10_000;

/** One counted attempt, to be settled with failed() or succeeded(). */
export interface LoginAttempt {
  address: string;
  account: string;
  at: number;
}

export type LoginVerdict = { ok: true; attempt: LoginAttempt } | { ok: false; reason: 'address-limited' | 'locked'; retryAfterSeconds: number };

interface PairState {
  /** Failures in a row (reset by a success or a lock). */
  failures: number;
  /** Attempts begun and not yet settled. */
  inFlight: number;
  lockedUntil: number;
}

const pairKey = (account: string, address: string) => `${account}\u0000${address}`;

export class LoginGuard {
  /** The attempts in flight or failed, per address, with the account each was for. */
  private readonly byAddress = new Map<string, { at: number; account: string }[]>();
  private readonly byPair = new Map<string, PairState>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Count an attempt of this address at this account, or refuse it. */
  begin(address: string, account: string): LoginVerdict {
    const t = this.now();
    this.prune(t);
    const recent = (this.byAddress.get(address) ?? []).filter((a) => t - a.at < LOGIN_LIMITS.addressWindowMs);
    if (recent.length >= LOGIN_LIMITS.perAddress) {
      this.byAddress.set(address, recent);
      return { ok: false, reason: 'address-limited', retryAfterSeconds: Math.max(1, Math.ceil((recent[0]!.at + LOGIN_LIMITS.addressWindowMs - t) / 1000)) };
    }
    const pair = this.byPair.get(pairKey(account, address)) ?? { failures: 0, inFlight: 0, lockedUntil: 0 };
    if (pair.lockedUntil > t) return { ok: false, reason: 'locked', retryAfterSeconds: Math.ceil((pair.lockedUntil - t) / 1000) };
    // Attempts in flight count as failures until they are settled: enough of them would lock.
    if (pair.failures + pair.inFlight >= LOGIN_LIMITS.perAccount) return { ok: false, reason: 'locked', retryAfterSeconds: Math.ceil(LOGIN_LIMITS.lockMs / 1000) };
    recent.push({ at: t, account });
    this.byAddress.set(address, recent);
    pair.inFlight += 1;
    this.byPair.set(pairKey(account, address), pair);
    return { ok: true, attempt: { address, account, at: t } };
  }

  /** The attempt failed; says whether it locked the account for its address. */
  failed(attempt: LoginAttempt): { locked: boolean } {
    const pair = this.settle(attempt);
    pair.failures += 1;
    const locked = pair.failures >= LOGIN_LIMITS.perAccount;
    if (locked) {
      pair.lockedUntil = this.now() + LOGIN_LIMITS.lockMs;
      pair.failures = 0;
    }
    return { locked };
  }

  /** A failure that was not a counted attempt (an SSH connection that only offered unknown keys). */
  failedWithoutAttempt(address: string, account: string): { locked: boolean } {
    const t = this.now();
    this.byAddress.set(address, [...(this.byAddress.get(address) ?? []), { at: t, account }]);
    const pair = this.byPair.get(pairKey(account, address)) ?? { failures: 0, inFlight: 0, lockedUntil: 0 };
    pair.inFlight += 1;
    this.byPair.set(pairKey(account, address), pair);
    return this.failed({ address, account, at: t });
  }

  /** The attempt succeeded: it is taken back, and the account's failures from this address are forgotten. */
  succeeded(attempt: LoginAttempt): void {
    const recent = this.byAddress.get(attempt.address);
    const i = recent?.findIndex((a) => a.at === attempt.at && a.account === attempt.account) ?? -1;
    if (i >= 0) recent!.splice(i, 1);
    const pair = this.settle(attempt);
    pair.failures = 0;
    if (pair.inFlight === 0 && pair.lockedUntil <= this.now()) this.byPair.delete(pairKey(attempt.account, attempt.address));
  }

  /**
   * Lift every lock and failure count of an account, its failures' share of the address counts
   * included (the administrator who locked themselves out can log in at once); says how many
   * addresses it was locked out from.
   */
  unlock(account: string): number {
    const t = this.now();
    let lifted = 0;
    for (const [address, recent] of this.byAddress) this.byAddress.set(address, recent.filter((a) => a.account !== account));
    for (const [key, pair] of this.byPair) {
      if (!key.startsWith(`${account}\u0000`)) continue;
      if (pair.lockedUntil > t) lifted += 1;
      if (pair.inFlight) Object.assign(pair, { failures: 0, lockedUntil: 0 });
      else this.byPair.delete(key);
    }
    return lifted;
  }

  /** The accounts locked out now, and from which addresses (status, userconfig, the Users page). */
  lockouts(): { account: string; addresses: string[] }[] {
    const t = this.now();
    const out = new Map<string, string[]>();
    for (const [key, p] of this.byPair) {
      if (p.lockedUntil <= t) continue;
      const [account, address] = key.split('\u0000') as [string, string];
      out.set(account, [...(out.get(account) ?? []), address]);
    }
    return [...out].map(([account, addresses]) => ({ account, addresses }));
  }

  private settle(attempt: LoginAttempt): PairState {
    const key = pairKey(attempt.account, attempt.address);
    const pair = this.byPair.get(key) ?? { failures: 0, inFlight: 0, lockedUntil: 0 };
    this.byPair.set(key, pair);
    pair.inFlight = Math.max(0, pair.inFlight - 1);
    return pair;
  }

  /** Guessing with many addresses or made-up names must not grow the tables without bound. */
  private prune(t: number): void {
    if (this.byAddress.size > MAX_ENTRIES) {
      for (const [a, recent] of this.byAddress) if (recent.every((x) => t - x.at >= LOGIN_LIMITS.addressWindowMs)) this.byAddress.delete(a);
    }
    if (this.byPair.size > MAX_ENTRIES) {
      for (const [k, p] of this.byPair) if (p.lockedUntil <= t && p.inFlight === 0) this.byPair.delete(k);
    }
  }
}
