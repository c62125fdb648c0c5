import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type DomainTlsRow, deliveriesOf, type HourCounts, noOutcomes, TLS_OUTCOMES, type TlsFailureReason, type TlsOutcome } from '../../control/status.js';
import { writeFileAtomic } from '../../store/atomic.js';

/**
 * How delivery to each destination domain went, per UTC day for the last 31 days and per UTC clock
 * hour for the last 24 (tlsreport outbound): the evidence an administrator needs before tightening a
 * partner's TLS setting, and the last hours to see a change take effect. Kept on disk (written at
 * most once a minute and at stop), bounded: at most MAX_DOMAINS domains a bucket, the rest counted
 * under "(other)", and at most MAX_MX_HOSTS host names a row.
 */

export const KEEP_DAYS = 31;
export const KEEP_HOURS = 24;
export const MAX_DOMAINS = 1000;
export const MAX_MX_HOSTS = 16;
export const OTHER = '(other)';
/** In a row's host names: more hosts carried mail than are kept. */
export const MORE_HOSTS = '(more)';

/** One bucket (a day "2026-12-06" or an hour "2026-12-06T08"): its rows by domain. */
export interface Bucket {
  [domain: string]: DomainTlsRow;
}

/**
 * The cluster's pool of counts (etcd; absent standalone): each member puts its own buckets there,
 * under a kind (which counts they are), and reads the other members' to add them in.
 */
export interface SharedTlsStatistics {
  /** Replace this member's buckets `buckets` of `kind`; drop the buckets of that kind outside `keep`. */
  put(kind: string, buckets: [string, Bucket][], keep: (key: string) => boolean): Promise<void>;
  /** The other members' buckets of `kind`. */
  others(kind: string): Promise<[string, Bucket][]>;
}

/** A period ending now: whole UTC days (today included) or clock hours (this one included). */
export type Span = { days: number } | { hours: number };

/** In a cluster, a change reaches the pool within this long: the cluster's figures stay current, etcd sees a few writes. */
const SHARE_DELAY_MS = 2_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const hourOf = (ms: number) => new Date(ms).toISOString().slice(0, 13);
const BUCKET_KEY = /^\d{4}-\d\d-\d\d(T\d\d)?$/;
const empty = (domain: string): DomainTlsRow => ({ domain, messages: noOutcomes(), verifiable: 0, failures: {} });

/** The first bucket key a span covers, and whether a key is of the span's kind. */
function spanStart(span: Span, now: number): { first: string; kind: (key: string) => boolean; step: number; key: (ms: number) => string } {
  if ('hours' in span) return { first: hourOf(now - (span.hours - 1) * HOUR), kind: (k) => k.length === 13, step: HOUR, key: hourOf };
  return { first: dayOf(now - (span.days - 1) * DAY), kind: (k) => k.length === 10, step: DAY, key: dayOf };
}

/** When a span ending at `now` starts (ISO): its first day's or hour's start. */
export function spanSince(span: Span, now: number): string {
  const { first } = spanStart(span, now);
  return new Date(first.length === 10 ? `${first}T00:00:00Z` : `${first}:00:00Z`).toISOString();
}

/** Which bucket keys are still kept at `now`: the last KEEP_DAYS days and KEEP_HOURS hours. */
function keptBy(now: number): (key: string) => boolean {
  const firstDay = dayOf(now - (KEEP_DAYS - 1) * DAY);
  const firstHour = hourOf(now - (KEEP_HOURS - 1) * HOUR);
  return (k) => k >= (k.length === 10 ? firstDay : firstHour);
}

/** Adds one row's counts into another (same domain). */
export function addRow(to: DomainTlsRow, r: DomainTlsRow): void {
  for (const o of TLS_OUTCOMES) to.messages[o] += r.messages?.[o] ?? 0;
  to.verifiable += r.verifiable ?? 0;
  for (const [k, n] of Object.entries(r.failures ?? {})) to.failures[k as TlsFailureReason] = (to.failures[k as TlsFailureReason] ?? 0) + (n ?? 0);
  for (const h of r.mxHosts ?? []) addHost(to, h);
}

function addHost(r: DomainTlsRow, host: string): void {
  const hosts = (r.mxHosts ??= []);
  if (hosts.includes(host)) return;
  if (hosts.length < MAX_MX_HOSTS) hosts.push(host);
  else if (!hosts.includes(MORE_HOSTS)) hosts[MAX_MX_HOSTS - 1] = MORE_HOSTS;
}

export class DomainTlsStatistics {
  private buckets = new Map<string, Bucket>();
  private dirty = false;
  /** Buckets changed since they were last shared with the cluster. */
  private unshared = new Set<string>();
  /** The pool last shared with: a new one (the engine joined a cluster) gets every bucket. */
  private sharedWith: SharedTlsStatistics | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** A share to the cluster's pool is due (changes go out within SHARE_DELAY_MS, batched). */
  private shareTimer: NodeJS.Timeout | undefined;
  private sharing: Promise<void> = Promise.resolve();
  /** What these counts are called in the cluster's pool. */
  readonly kind: string;

  constructor(
    private readonly file: string,
    private readonly now: () => number = Date.now,
    private readonly warn: (m: string) => void = () => undefined,
    /** In a cluster, its pool (read at each flush: the engine may join or leave a cluster). */
    private readonly pool: () => SharedTlsStatistics | undefined = () => undefined,
  ) {
    this.kind = path.basename(file, '.json');
  }

  /** Read what an earlier run kept; an unreadable file starts afresh (said once). */
  async open(): Promise<void> {
    try {
      const doc = JSON.parse(await readFile(this.file, 'utf8')) as Record<string, Bucket>;
      this.buckets = new Map(Object.entries(doc).filter(([d, v]) => BUCKET_KEY.test(d) && v && typeof v === 'object'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.warn(`TLS statistics in ${this.file} cannot be read (${(err as Error).message}); counting starts again`);
    }
    this.prune();
    this.timer = setInterval(() => void this.flush(), 60_000);
    this.timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.shareTimer);
    await this.flush();
  }

  /**
   * A message to `domain`: how the session that carried it went, or "failed" when none did;
   * `verifiable`: unchecked TLS whose certificate verified; `mxHost`: the host name that took it.
   */
  message(domain: string, outcome: TlsOutcome, verifiable = false, mxHost?: string): void {
    for (const r of this.rows(domain)) {
      r.messages[outcome] += 1;
      if (verifiable) r.verifiable = (r.verifiable ?? 0) + 1;
      if (mxHost) addHost(r, mxHost.toLowerCase());
    }
  }

  /** A connection to `domain` that carried nothing, and why. */
  failure(domain: string, reason: TlsFailureReason): void {
    for (const r of this.rows(domain)) r.failures[reason] = (r.failures[reason] ?? 0) + 1;
  }

  /** This gateway's buckets of a span, oldest first (a cluster member shares them). */
  bucketsOf(span: Span): [string, Bucket][] {
    const { first, kind } = spanStart(span, this.now());
    return [...this.buckets].filter(([k]) => kind(k) && k >= first).sort(([a], [b]) => a.localeCompare(b));
  }

  /**
   * Each domain's totals over the span, most deliveries first; `others`: the buckets other cluster
   * members shared, added in.
   */
  query(span: Span, domain?: string, others: [string, Bucket][] = []): DomainTlsRow[] {
    const { first, kind } = spanStart(span, this.now());
    const sum = new Map<string, DomainTlsRow>();
    for (const [key, rows] of [...this.buckets, ...others]) {
      if (!kind(key) || key < first) continue;
      for (const r of Object.values(rows)) {
        if (domain && r.domain !== domain.toLowerCase()) continue;
        const to = sum.get(r.domain) ?? empty(r.domain);
        addRow(to, r);
        sum.set(r.domain, to);
      }
    }
    return [...sum.values()].sort((a, b) => deliveriesOf(b) - deliveriesOf(a) || a.domain.localeCompare(b.domain));
  }

  /** One domain's counts bucket by bucket over the span, oldest first, zeros included (`hour`: the bucket's start). */
  series(span: Span, domain: string, others: [string, Bucket][] = []): HourCounts[] {
    const key = domain.toLowerCase();
    const { step, key: keyOf } = spanStart(span, this.now());
    const count = 'hours' in span ? span.hours : span.days;
    const current = Date.parse(`${keyOf(this.now())}${step === HOUR ? ':00:00Z' : 'T00:00:00Z'}`);
    const all = [...this.buckets, ...others];
    const out: HourCounts[] = [];
    for (let i = count - 1; i >= 0; i -= 1) {
      const start = current - i * step;
      const counts = noOutcomes();
      for (const [k, rows] of all) if (k === keyOf(start)) for (const o of TLS_OUTCOMES) counts[o] += rows[key]?.messages[o] ?? 0;
      out.push({ hour: new Date(start).toISOString(), ...counts });
    }
    return out;
  }

  async flush(): Promise<void> {
    if (this.dirty) {
      this.dirty = false;
      await writeFileAtomic(this.file, JSON.stringify(Object.fromEntries(this.buckets)), 0o600).catch((err: Error) => {
        this.dirty = true;
        this.warn(`TLS statistics could not be written to ${this.file}: ${err.message}`);
      });
    }
    await this.share();
  }

  /** One share at a time, so an older picture of a bucket never lands after a newer one. */
  private share(): Promise<void> {
    this.sharing = this.sharing.then(() => this.shareNow());
    return this.sharing;
  }

  /** This member's changed buckets to the cluster's pool (all of them to a pool it has not shared with yet). */
  private async shareNow(): Promise<void> {
    const pool = this.pool();
    if (!pool) return void (this.sharedWith = undefined);
    const keys = pool === this.sharedWith ? [...this.unshared] : [...this.buckets.keys()];
    if (!keys.length) return;
    this.unshared.clear();
    try {
      await pool.put(this.kind, keys.filter((k) => this.buckets.has(k)).map((k) => [k, this.buckets.get(k)!]), keptBy(this.now()));
      this.sharedWith = pool;
    } catch (err) {
      for (const k of keys) this.unshared.add(k);
      this.warn(`TLS statistics could not be shared with the cluster (kept for the next minute): ${(err as Error).message}`);
    }
  }

  /** The domain's row in today's bucket and in this hour's. */
  private rows(domain: string): DomainTlsRow[] {
    const now = this.now();
    this.dirty = true;
    if (!this.shareTimer && this.pool()) {
      this.shareTimer = setTimeout(() => {
        this.shareTimer = undefined;
        void this.share();
      }, SHARE_DELAY_MS);
      this.shareTimer.unref();
    }
    return [dayOf(now), hourOf(now)].map((k) => {
      let rows = this.buckets.get(k);
      if (!rows) {
        rows = {};
        this.buckets.set(k, rows);
        this.prune();
      }
      this.unshared.add(k);
      const key = domain.toLowerCase();
      const name = rows[key] || Object.keys(rows).length < MAX_DOMAINS ? key : OTHER;
      return (rows[name] ??= empty(name));
    });
  }

  private prune(): void {
    const kept = keptBy(this.now());
    for (const k of this.buckets.keys()) if (!kept(k)) this.buckets.delete(k);
  }
}
