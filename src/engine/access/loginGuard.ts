/**
 * Failed logins: each address may fail a few times in a window, then must wait; an account that
 * fails too often in a row is locked for a while, whatever the address (a locked account refuses
 * even the right password). The HTTPS and SSH logins share one guard, so failures count across both.
 */
export const LOGIN_LIMITS = { perAddress: 5, addressWindowMs: 5 * 60_000, perAccount: 5, lockMs: 15 * 60_000 };

const MAX_ENTRIES = 10_000;

export type LoginVerdict = { ok: true } | { ok: false; reason: 'address-limited' | 'locked'; retryAfterSeconds: number };

export class LoginGuard {
  private readonly byAddress = new Map<string, number[]>();
  private readonly byAccount = new Map<string, { failures: number; lockedUntil: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** May this address try to log in to this account now? */
  check(address: string, account: string): LoginVerdict {
    const t = this.now();
    const recent = (this.byAddress.get(address) ?? []).filter((at) => t - at < LOGIN_LIMITS.addressWindowMs);
    if (recent.length) this.byAddress.set(address, recent);
    else this.byAddress.delete(address);
    if (recent.length >= LOGIN_LIMITS.perAddress) {
      return { ok: false, reason: 'address-limited', retryAfterSeconds: Math.ceil((recent[0]! + LOGIN_LIMITS.addressWindowMs - t) / 1000) };
    }
    const acct = this.byAccount.get(account);
    if (acct && acct.lockedUntil > t) return { ok: false, reason: 'locked', retryAfterSeconds: Math.ceil((acct.lockedUntil - t) / 1000) };
    return { ok: true };
  }

  /** A failed attempt; says whether it locked the account. */
  failed(address: string, account: string): { locked: boolean } {
    const t = this.now();
    this.prune(t);
    this.byAddress.set(address, [...(this.byAddress.get(address) ?? []), t]);
    const acct = this.byAccount.get(account) ?? { failures: 0, lockedUntil: 0 };
    acct.failures += 1;
    const locked = acct.failures >= LOGIN_LIMITS.perAccount;
    if (locked) {
      acct.lockedUntil = t + LOGIN_LIMITS.lockMs;
      acct.failures = 0;
    }
    this.byAccount.set(account, acct);
    return { locked };
  }

  succeeded(account: string): void {
    this.byAccount.delete(account);
  }

  /** Guessing with many addresses or made-up names must not grow the tables without bound. */
  private prune(t: number): void {
    if (this.byAddress.size > MAX_ENTRIES) {
      for (const [a, times] of this.byAddress) if (times.every((at) => t - at >= LOGIN_LIMITS.addressWindowMs)) this.byAddress.delete(a);
    }
    if (this.byAccount.size > MAX_ENTRIES) {
      for (const [a, entry] of this.byAccount) if (entry.lockedUntil <= t) this.byAccount.delete(a);
    }
  }
}
