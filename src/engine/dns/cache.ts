import type dnsPacket from 'dns-packet';

/**
 * The engine's DNS cache: every lookup the engine makes (delivery, tlsverify/daneverify, MTA-STS,
 * TLS reports) goes through one, so MX, A/AAAA and TLSA are not asked again for every attempt.
 *
 * - positive answers live for their smallest TTL, capped by the RRSIGs' original TTL and expiry
 *   (RFC 4035 §5.3.3) and by a day (unbound's cache-max-ttl);
 * - negative answers (NXDOMAIN, NODATA) for the SOA's TTL and MINIMUM, whichever is smaller
 *   (RFC 2308 §5), capped by an hour (unbound's cache-max-negative-ttl); without an SOA they are
 *   not cached (RFC 2308 §5);
 * - SERVFAIL (a validation failure at the resolver) briefly, so a broken zone is not hammered;
 * - no answer at all (timeouts) is not cached: the next lookup tries again.
 *
 * Bounded by the bytes of the answers it holds, least recently used first out. The key includes the
 * servers asked, so a changed `dnsconfig servers` never answers from the old ones. `dnsflush` empties it.
 */

/** What a query returned, as the client caches it. */
export interface CachedAnswer<T> {
  value: T;
  /** Size of the DNS message it came from, in bytes (what the budget counts). */
  size: number;
  /** How long it may be kept, in seconds; 0 or less: not cached. */
  ttl: number;
}

const MAX_TTL = 86_400;
const MAX_NEGATIVE_TTL = 3_600;
/** SERVFAIL is kept this long (unbound keeps bogus answers 60 s: val-bogus-ttl). */
export const SERVFAIL_TTL = 30;
const DEFAULT_BUDGET_BYTES = 16 * 1024 * 1024;

/** The cache's memory budget: MXGATE_DNS_CACHE_BYTES when it is a whole number (0: keep nothing, for measuring), else 16 MB. */
function budgetFromEnvironment(): number {
  const set = process.env.MXGATE_DNS_CACHE_BYTES;
  return set !== undefined && /^\d+$/.test(set) ? Number(set) : DEFAULT_BUDGET_BYTES;
}

interface Entry<T> {
  value: T;
  size: number;
  expires: number;
}

export interface DnsCacheStats {
  entries: number;
  bytes: number;
  hits: number;
  misses: number;
}

export class DnsCache<T = unknown> {
  private readonly entries = new Map<string, Entry<T>>();
  /** Identical lookups in flight share one query (many deliveries to one domain at once). */
  private readonly inFlight = new Map<string, Promise<T>>();
  private bytes = 0;
  private hits = 0;
  private misses = 0;

  constructor(
    private readonly budgetBytes = budgetFromEnvironment(),
    private readonly clock: () => number = Date.now,
  ) {}

  /** The cached value for `key`, else `ask()`'s, kept as long as it says. */
  async get(key: string, ask: () => Promise<CachedAnswer<T>>): Promise<T> {
    const hit = this.entries.get(key);
    if (hit && hit.expires > this.clock()) {
      this.entries.delete(key); // most recently used goes last
      this.entries.set(key, hit);
      this.hits++;
      return hit.value;
    }
    if (hit) this.drop(key, hit);
    const pending = this.inFlight.get(key);
    if (pending) {
      this.hits++; // no query of its own
      return pending;
    }
    this.misses++;
    const generation = this.generation;
    const run = ask()
      .then((answer) => {
        if (answer.ttl > 0 && answer.size <= this.budgetBytes / 16 && generation === this.generation) this.put(key, answer);
        return answer.value;
      })
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, run);
    return run;
  }

  /** dnsflush: everything goes (a query in flight is answered but not kept). Returns how many entries went. */
  flush(): number {
    const n = this.entries.size;
    this.entries.clear();
    this.inFlight.clear();
    this.bytes = 0;
    this.generation++;
    return n;
  }

  stats(): DnsCacheStats {
    return { entries: this.entries.size, bytes: this.bytes, hits: this.hits, misses: this.misses };
  }

  private generation = 0;

  private put(key: string, answer: CachedAnswer<T>): void {
    const old = this.entries.get(key);
    if (old) this.drop(key, old);
    this.entries.set(key, { value: answer.value, size: answer.size, expires: this.clock() + answer.ttl * 1000 });
    this.bytes += answer.size;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.budgetBytes) break;
      this.drop(k, e);
    }
  }

  private drop(key: string, entry: Entry<T>): void {
    this.entries.delete(key);
    this.bytes -= entry.size;
  }
}

type Rrsig = { originalTTL: number; expiration: number };
const ttlOf = (a: dnsPacket.Answer): number => (a as { ttl?: number }).ttl ?? 0;

/**
 * How long an answer may be cached, in seconds, from its rcode and sections (see the module
 * comment). `now` in seconds since the epoch (RRSIG expiry is absolute).
 */
export function cacheTtl(packet: { rcode: string; answers: dnsPacket.Answer[]; authorities: dnsPacket.Answer[] }, type: string, now: number): number {
  const { rcode, answers, authorities } = packet;
  if (rcode === 'SERVFAIL') return SERVFAIL_TTL;
  if (rcode !== 'NOERROR' && rcode !== 'NXDOMAIN') return 0;
  const sigs = [...answers, ...authorities].filter((a) => a.type === 'RRSIG').map((a) => (a as unknown as { data: Rrsig }).data);
  const signed = (ttl: number) => Math.min(ttl, ...sigs.map((s) => Math.min(s.originalTTL, s.expiration - now)));
  const records = answers.filter((a) => a.type === type);
  if (rcode === 'NOERROR' && records.length) {
    const ttl = Math.min(...answers.filter((a) => a.type === type || a.type === 'CNAME').map(ttlOf));
    return Math.max(0, Math.min(MAX_TTL, signed(ttl)));
  }
  const soa = authorities.find((a) => a.type === 'SOA') as (dnsPacket.Answer & { data: { minimum: number } }) | undefined;
  if (!soa) return 0;
  return Math.max(0, Math.min(MAX_NEGATIVE_TTL, signed(Math.min(ttlOf(soa), soa.data.minimum))));
}
