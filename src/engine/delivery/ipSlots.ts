/**
 * Connections open to each mail exchanger address, for destinations whose limits apply per MX IP
 * (destconfig "separate limit for each mail exchanger IP address"): a slot is taken before a
 * connection is opened and given back when it closes, so idle kept connections count too.
 */
export class IpConnectionSlots {
  private readonly open = new Map<string, number>();

  /** A slot for one more connection to `ip` for `domain`, or undefined when `limit` are open; the release is idempotent. */
  reserve(domain: string, ip: string, limit: number): (() => void) | undefined {
    const key = `${domain}|${ip}`;
    const n = this.open.get(key) ?? 0;
    if (n >= limit) return undefined;
    this.open.set(key, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(key) ?? 1) - 1;
      if (left > 0) this.open.set(key, left);
      else this.open.delete(key);
    };
  }

  /** Connections open to `ip` for `domain` (showing and testing). */
  count(domain: string, ip: string): number {
    return this.open.get(`${domain}|${ip}`) ?? 0;
  }
}
