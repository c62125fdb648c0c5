import { readFile } from 'node:fs/promises';
import { type DomainTlsRow, deliveriesOf, type HourCounts, noOutcomes, TLS_OUTCOMES, type TlsFailureReason, type TlsOutcome } from '../../control/status.js';
import { writeFileAtomic } from '../../store/atomic.js';

/**
 * How delivery to each destination domain went, per UTC day, for the last 31 days (tlsreport
 * outbound): the evidence an administrator needs before tightening a partner's TLS setting. Kept
 * on disk (written at most once a minute and at stop), bounded: at most MAX_DOMAINS domains a day,
 * the rest counted under "(other)".
 */

export const KEEP_DAYS = 31;
export const MAX_DOMAINS = 1000;
export const OTHER = '(other)';

interface Day {
  [domain: string]: DomainTlsRow;
}

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const empty = (domain: string): DomainTlsRow => ({ domain, messages: noOutcomes(), verifiable: 0, failures: {} });

export class DomainTlsStatistics {
  private days = new Map<string, Day>();
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly file: string,
    private readonly now: () => number = Date.now,
    private readonly warn: (m: string) => void = () => undefined,
  ) {}

  /** Read what an earlier run kept; an unreadable file starts afresh (said once). */
  async open(): Promise<void> {
    try {
      const doc = JSON.parse(await readFile(this.file, 'utf8')) as Record<string, Day>;
      this.days = new Map(Object.entries(doc).filter(([d, v]) => /^\d{4}-\d\d-\d\d$/.test(d) && v && typeof v === 'object'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.warn(`TLS statistics in ${this.file} cannot be read (${(err as Error).message}); counting starts again`);
    }
    this.prune();
    this.timer = setInterval(() => void this.flush(), 60_000);
    this.timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  /** A message to `domain`: how the session that carried it went, or "failed" when none did; `verifiable`: unchecked TLS whose certificate verified. */
  message(domain: string, outcome: TlsOutcome, verifiable = false): void {
    const r = this.row(domain);
    r.messages[outcome] += 1;
    if (verifiable) r.verifiable = (r.verifiable ?? 0) + 1;
  }

  /** A connection to `domain` that carried nothing, and why. */
  failure(domain: string, reason: TlsFailureReason): void {
    const f = this.row(domain).failures;
    f[reason] = (f[reason] ?? 0) + 1;
  }

  /** Each domain's totals over the last `days` days (today included), most messages first. */
  query(days: number, domain?: string): DomainTlsRow[] {
    const first = dayOf(this.now() - (days - 1) * 86_400_000);
    const sum = new Map<string, DomainTlsRow>();
    for (const [day, rows] of this.days) {
      if (day < first) continue;
      for (const r of Object.values(rows)) {
        if (domain && r.domain !== domain.toLowerCase()) continue;
        const to = sum.get(r.domain) ?? empty(r.domain);
        for (const o of TLS_OUTCOMES) to.messages[o] += r.messages[o] ?? 0;
        to.verifiable += r.verifiable ?? 0;
        for (const [k, n] of Object.entries(r.failures)) to.failures[k as TlsFailureReason] = (to.failures[k as TlsFailureReason] ?? 0) + (n ?? 0);
        sum.set(r.domain, to);
      }
    }
    return [...sum.values()].sort((a, b) => deliveriesOf(b) - deliveriesOf(a) || a.domain.localeCompare(b.domain));
  }

  /** One domain's counts day by day over the last `days` days, oldest first, zeros included (`hour`: the day's start). */
  daily(days: number, domain: string): HourCounts[] {
    const key = domain.toLowerCase();
    const out: HourCounts[] = [];
    const today = Date.parse(`${dayOf(this.now())}T00:00:00Z`);
    for (let i = days - 1; i >= 0; i -= 1) {
      const start = today - i * 86_400_000;
      const row = this.days.get(dayOf(start))?.[key];
      const counts = noOutcomes();
      for (const o of TLS_OUTCOMES) counts[o] = row?.messages[o] ?? 0;
      out.push({ hour: new Date(start).toISOString(), ...counts });
    }
    return out;
  }

  async flush(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    await writeFileAtomic(this.file, JSON.stringify(Object.fromEntries(this.days)), 0o600).catch((err: Error) => {
      this.dirty = true;
      this.warn(`TLS statistics could not be written to ${this.file}: ${err.message}`);
    });
  }

  private row(domain: string): DomainTlsRow {
    const day = dayOf(this.now());
    let rows = this.days.get(day);
    if (!rows) {
      rows = {};
      this.days.set(day, rows);
      this.prune();
    }
    const key = domain.toLowerCase();
    const name = rows[key] || Object.keys(rows).length < MAX_DOMAINS ? key : OTHER;
    rows[name] ??= empty(name);
    this.dirty = true;
    return rows[name];
  }

  private prune(): void {
    const first = dayOf(this.now() - (KEEP_DAYS - 1) * 86_400_000);
    for (const day of this.days.keys()) if (day < first) this.days.delete(day);
  }
}
