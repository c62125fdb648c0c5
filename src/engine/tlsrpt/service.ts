import https from 'node:https';
import net from 'node:net';
import { gzipSync } from 'node:zlib';
import type { Config } from '../../store/schema.js';
import { addressOf, type DnsClient, txtText } from '../dns/client.js';
import type { MailLog } from '../log/mailLog.js';
import type { DayRecord } from './recorder.js';
import { buildReport, newReportId, parseTlsRptRecord, type ReportMeta, reportMail, reportsByDomain, TlsRptRecordError } from './report.js';
import type { TlsReportRecorder } from './recorder.js';

export interface ReportDeps {
  recorder: TlsReportRecorder;
  log: MailLog;
  config: () => Config;
  dns: (config: Config) => DnsClient;
  trusted: (config: Config) => Promise<string[]>;
  /** Queue a report mail (delivered like an alert: not held by the policies it reports on). */
  enqueue: (from: string, to: string, data: Buffer) => Promise<number>;
  clock?: () => number;
  /** In a cluster, its pool of TLS report material (read each time: the engine may join or leave a cluster). */
  shared?: () => SharedTlsReports | undefined;
}

/**
 * A cluster's TLS report material (etcd): every member adds its sessions, and each day goes out as
 * one report per policy domain for the whole cluster, sent by whichever member claims it.
 */
export interface SharedTlsReports {
  contribute(days: DayRecord[]): Promise<void>;
  /** Every member's material of the days before `before` (all when undefined), merged per day, for the days this member claimed; `done` removes what the report covered. */
  claimDays(before: string | undefined): Promise<{ record: DayRecord; done(): Promise<void> }[]>;
}

const DAY_MS = 24 * 3600_000;

/**
 * Daily TLS reports (RFC 8460, tlsrptconfig): at the configured UTC hour, every finished day's
 * material goes, per policy domain, to the addresses in that domain's `_smtp._tls` TXT record —
 * mailto: through our own queue, https: by POST — and is then forgotten.
 */
export class TlsReportService {
  private sending: Promise<string[]> | undefined;
  private contributing: Promise<void> = Promise.resolve();

  constructor(private readonly deps: ReportDeps) {}

  private now(): number {
    return (this.deps.clock ?? Date.now)();
  }

  /** Called every minute: send finished days once the sending hour has come. */
  async sendDue(): Promise<void> {
    const config = this.deps.config();
    const now = new Date(this.now());
    if (!config.tlsrpt.enabled) {
      // Reports off: what was recorded is kept a week (for send-now), then dropped.
      const weekAgo = new Date(now.getTime() - 7 * DAY_MS).toISOString().slice(0, 10);
      for (const day of await this.deps.recorder.recordedDays(weekAgo)) await this.deps.recorder.forget(day.day);
      return;
    }
    await this.contribute();
    if (now.getUTCHours() < config.tlsrpt.hour) return;
    const today = now.toISOString().slice(0, 10);
    if (!this.deps.shared?.() && (await this.deps.recorder.recordedDays(today)).length === 0) return;
    await this.send(today, true);
  }

  /**
   * In a cluster: hand what this member recorded to the cluster's pool (after each write of the
   * recorder, and before sending). If the cluster does not answer, the material stays here.
   */
  contribute(): Promise<void> {
    const shared = this.deps.shared?.();
    if (!shared) return Promise.resolve();
    this.contributing = this.contributing.then(async () => {
      const days = await this.deps.recorder.drain();
      if (!days.length) return;
      try {
        await shared.contribute(days);
      } catch (err) {
        await this.deps.recorder.restore(days);
        this.deps.log.debug(`TLS report material kept on this machine: ${(err as Error).message}`);
      }
    });
    return this.contributing;
  }

  /** tlsrptconfig send-now: every recorded day including today so far; lines say what went where. */
  sendNow(): Promise<string[]> {
    return this.send(undefined, false);
  }

  /** `scheduled`: the minute timer's run, which says nothing when there was nothing to send (in a cluster it looks every minute). */
  private send(before: string | undefined, scheduled: boolean): Promise<string[]> {
    this.sending ??= this.sendDays(before, scheduled).finally(() => (this.sending = undefined));
    return this.sending;
  }

  private async sendDays(before: string | undefined, scheduled: boolean): Promise<string[]> {
    await this.deps.recorder.flush();
    const lines: string[] = [];
    const shared = this.deps.shared?.();
    if (shared) {
      try {
        await this.contribute();
        for (const { record, done } of await shared.claimDays(before)) {
          lines.push(...(await this.sendDay(record)));
          await done();
        }
      } catch (err) {
        lines.push(`The cluster does not answer (${(err as Error).message}); this machine reports its own sessions`);
      }
    }
    const days = await this.deps.recorder.recordedDays(before);
    for (const day of days) {
      lines.push(...(await this.sendDay(day)));
      await this.deps.recorder.forget(day.day);
    }
    if (!lines.length) {
      if (scheduled) return lines;
      lines.push('There is no TLS session recorded since the last report.');
    }
    for (const l of lines) this.deps.log.info(`TLS report: ${l}`);
    return lines;
  }

  private async sendDay(day: DayRecord): Promise<string[]> {
    const config = this.deps.config();
    const dns = this.deps.dns(config);
    const start = new Date(`${day.day}T00:00:00Z`);
    const end = new Date(Math.min(start.getTime() + DAY_MS - 1000, this.now()));
    const lines: string[] = [];
    for (const [domain, policies] of reportsByDomain(day)) {
      const answer = await dns.lookup(`_smtp._tls.${domain}`, 'TXT');
      let rua: string[];
      try {
        if (answer.security === 'bogus' && answer.records.length === 0) throw new TlsRptRecordError(`the TXT lookup failed (${answer.reason ?? answer.rcode})`);
        rua = parseTlsRptRecord(answer.records.map(txtText));
      } catch (err) {
        if (!(err instanceof TlsRptRecordError)) throw err;
        lines.push(`${domain} (${day.day}): not sent, ${err.message} at _smtp._tls.${domain}`);
        continue;
      }
      const meta: ReportMeta = {
        organization: config.tlsrpt.organization || config.hostname,
        contact: config.tlsrpt.contact || `postmaster@${config.hostname}`,
        submitter: config.hostname,
        start,
        end,
        reportId: '',
      };
      meta.reportId = newReportId(meta, domain);
      const gz = gzipSync(JSON.stringify(buildReport(meta, policies)));
      for (const uri of rua) {
        try {
          if (uri.toLowerCase().startsWith('mailto:')) {
            const to = decodeURIComponent(uri.slice(7).split('?')[0]!);
            const mid = await this.deps.enqueue(`tlsrpt-noreply@${config.hostname}`, to, reportMail(meta, domain, `TLS reports <tlsrpt-noreply@${config.hostname}>`, to, gz));
            lines.push(`${domain} (${day.day}): report ${meta.reportId} queued to ${to} (MID ${mid})`);
          } else {
            const status = await post(uri, gz, dns, await this.deps.trusted(config));
            lines.push(`${domain} (${day.day}): report ${meta.reportId} posted to ${uri} (HTTP ${status})`);
          }
        } catch (err) {
          lines.push(`${domain} (${day.day}): report to ${uri} failed: ${(err as Error).message}`);
        }
      }
    }
    return lines;
  }
}

/** POST a gzipped report (RFC 8460 §5.4); the host name resolved by the engine's DNS client. */
async function post(uri: string, body: Buffer, dns: DnsClient, trusted: string[]): Promise<number> {
  const url = new URL(uri);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const address = net.isIP(host) ? host : await addressOf(dns, host);
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: address,
        port: url.port || 443,
        path: url.pathname + url.search,
        method: 'POST',
        headers: { Host: url.host, 'Content-Type': 'application/tlsrpt+gzip', 'Content-Length': body.length },
        ...(net.isIP(host) ? {} : { servername: host }),
        ca: trusted,
        agent: false,
        timeout: 30_000,
      },
      (res) => {
        res.resume();
        if (res.statusCode && res.statusCode >= 200 && res.statusCode < 300) resolve(res.statusCode);
        else reject(new Error(`HTTP status ${res.statusCode}`));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}
