import { readdir, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { ensureDir, writeFileAtomic } from '../../store/atomic.js';
import type { ReportedPolicy, SessionFailure, SessionReport, TlsReportSink } from './results.js';

/** One policy's sessions on one day. */
export interface PolicyCounts {
  policy: ReportedPolicy;
  success: number;
  /** Failures grouped by what a report tells apart (type, hosts, reason). */
  failures: (SessionFailure & { count: number })[];
}

/** Everything recorded on one UTC day: policy key → counts. */
export interface DayRecord {
  day: string;
  policies: Record<string, PolicyCounts>;
}

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const policyKey = (p: ReportedPolicy) => JSON.stringify([p.domain.toLowerCase(), p.type, p.strings, p.mxHosts]);
const sameFailure = (a: SessionFailure, b: SessionFailure) => a.type === b.type && a.mxHost === b.mxHost && a.receivingIp === b.receivingIp && a.sendingIp === b.sendingIp && a.reason === b.reason;

/**
 * The material of the daily TLS reports (RFC 8460): session counts per policy and UTC day, kept in
 * memory and written to tlsrpt/<day>.json a moment after they change (so a restart loses at most
 * that moment, and delivery never waits for the disk).
 */
export class TlsReportRecorder implements TlsReportSink {
  private readonly days = new Map<string, DayRecord>();
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private loaded: Promise<void> | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly dir: string,
    private readonly onError: (message: string) => void,
    private readonly clock: () => number = Date.now,
    /** Called after changes were written (in a cluster: time to hand them to the cluster). */
    private readonly flushed: () => void = () => undefined,
  ) {}

  load(): Promise<void> {
    this.loaded ??= (async () => {
      await ensureDir(this.dir);
      for (const name of await readdir(this.dir)) {
        if (!/^\d{4}-\d{2}-\d{2}\.json$/.test(name)) continue;
        try {
          const record = JSON.parse(await readFile(path.join(this.dir, name), 'utf8')) as DayRecord;
          const mine = this.days.get(record.day);
          if (mine) for (const [k, v] of Object.entries(record.policies)) merge(mine, k, v);
          else this.days.set(record.day, record);
        } catch {
          this.onError(`TLS report file ${name} cannot be read; it is ignored`);
        }
      }
    })();
    return this.loaded;
  }

  record(report: SessionReport): void {
    const day = dayOf(this.clock());
    let record = this.days.get(day);
    if (!record) this.days.set(day, (record = { day, policies: {} }));
    const key = policyKey(report.policy);
    const counts = (record.policies[key] ??= { policy: report.policy, success: 0, failures: [] });
    if (!report.failure) counts.success += 1;
    else {
      const same = counts.failures.find((f) => sameFailure(f, report.failure!));
      if (same) same.count += 1;
      else counts.failures.push({ ...report.failure, count: 1 });
    }
    this.dirty.add(day);
    this.timer ??= setTimeout(() => this.flushSoon(), 2000).unref();
  }

  /** Write the days that changed (the timer's flush also tells `flushed`). */
  private flushSoon(): void {
    void this.flush().then(() => this.flushed());
  }

  /** Write the days that changed. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const days = [...this.dirty];
    this.dirty.clear();
    this.writing = this.writing.then(async () => {
      // What an earlier run left on disk is merged in before the day's file is rewritten.
      await this.load();
      for (const day of days) {
        const record = this.days.get(day);
        if (!record) continue;
        await writeFileAtomic(path.join(this.dir, `${day}.json`), JSON.stringify(record) + '\n').catch((err: Error) => this.onError(`TLS report data for ${day} could not be written: ${err.message}`));
      }
    });
    return this.writing;
  }

  /** Recorded days, oldest first; `before` leaves out that day and later ones. */
  async recordedDays(before?: string): Promise<DayRecord[]> {
    await this.load();
    return [...this.days.values()].filter((d) => !before || d.day < before).sort((a, b) => a.day.localeCompare(b.day));
  }

  /** Hand over everything recorded (in a cluster, to etcd): it is forgotten here. */
  async drain(): Promise<DayRecord[]> {
    await this.load();
    // Taken at once: sessions recorded from here on start new records (drained next time).
    const days = [...this.days.values()];
    this.days.clear();
    this.dirty.clear();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    // After the writes already queued, before any later one.
    this.writing = this.writing.then(async () => {
      for (const d of days) await unlink(path.join(this.dir, `${d.day}.json`)).catch(() => undefined);
    });
    await this.writing;
    return days;
  }

  /** Take back material that could not be handed over. */
  async restore(days: DayRecord[]): Promise<void> {
    for (const d of days) {
      this.days.set(d.day, mergeDays(this.days.get(d.day) ?? { day: d.day, policies: {} }, d));
      this.dirty.add(d.day);
    }
    await this.flush();
  }

  /** A day's material has been reported: forget it. */
  async forget(day: string): Promise<void> {
    this.days.delete(day);
    this.dirty.delete(day);
    await this.writing;
    await unlink(path.join(this.dir, `${day}.json`)).catch(() => undefined);
  }
}

/** Two records of one day as one (members' material in a cluster). */
export function mergeDays(into: DayRecord, other: DayRecord): DayRecord {
  for (const [k, v] of Object.entries(other.policies)) merge(into, k, structuredClone(v));
  return into;
}

/** What remains of `from` once `reported` has been reported (a member added to its material meanwhile). */
export function withoutReported(from: DayRecord, reported: DayRecord): DayRecord {
  const out: DayRecord = { day: from.day, policies: {} };
  for (const [k, counts] of Object.entries(from.policies)) {
    const done = reported.policies[k];
    const success = counts.success - (done?.success ?? 0);
    const failures = counts.failures
      .map((f) => ({ ...f, count: f.count - (done?.failures.find((d) => sameFailure(d, f))?.count ?? 0) }))
      .filter((f) => f.count > 0);
    if (success > 0 || failures.length) out.policies[k] = { policy: counts.policy, success: Math.max(0, success), failures };
  }
  return out;
}

function merge(into: DayRecord, key: string, counts: PolicyCounts): void {
  const mine = into.policies[key];
  if (!mine) {
    into.policies[key] = counts;
    return;
  }
  mine.success += counts.success;
  for (const f of counts.failures) {
    const same = mine.failures.find((m) => sameFailure(m, f));
    if (same) same.count += f.count;
    else mine.failures.push(f);
  }
}
