import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type AlertClass, type AlertSeverity, CLASS_LABELS, subscribed } from '../../store/alerts/alerts.js';
import { ensureDir, writeFileAtomic } from '../../store/atomic.js';
import type { DataPaths } from '../../store/paths.js';
import type { Config } from '../../store/schema.js';
import type { IdAllocator } from '../ids.js';
import type { MailLog } from '../log/mailLog.js';
import { enqueueGenerated, type Spool } from '../queue/spool.js';
import type { RecentAlert } from '../../control/status.js';

export interface Alert {
  cls: AlertClass;
  severity: AlertSeverity;
  summary: string;
  details: string;
  /** Alerts with the same key are duplicates of each other (debounced). */
  key: string;
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * Alert mail: to every recipient subscribed to the class and severity, through the engine's own
 * queue (alerts are not held back by destination TLS settings). A repeat of the same alert waits
 * the initial interval, then "seconds to wait plus twice the last interval", up to the maximum.
 */
export class AlertService {
  private readonly last = new Map<string, { sentAt: number; interval: number; suppressed: number }>();
  private readonly file: string;

  constructor(
    private readonly deps: { paths: DataPaths; spool: Spool; ids: IdAllocator; log: MailLog; config: () => Config; queued: () => void },
  ) {
    this.file = path.join(deps.paths.home, 'alerts', 'recent.json');
  }

  async raise(alert: Alert): Promise<void> {
    const config = this.deps.config();
    const settings = config.alerts;
    const now = Date.now();
    const prior = this.last.get(alert.key);
    if (prior && now < prior.sentAt + prior.interval * 1000) {
      prior.suppressed += 1;
      this.deps.log.info(`Alert suppressed (a duplicate within ${prior.interval} s): ${alert.summary}`);
      await this.remember({ time: new Date().toISOString(), severity: alert.severity, cls: alert.cls, summary: alert.summary, sentTo: [], suppressed: true });
      return;
    }
    const interval = prior ? Math.min(settings.initialSeconds + 2 * prior.interval, settings.maxSeconds) : settings.initialSeconds;
    const suppressedBefore = prior?.suppressed ?? 0;
    this.last.set(alert.key, { sentAt: now, interval, suppressed: 0 });

    const to = settings.recipients.filter((r) => subscribed(r, alert.cls, alert.severity)).map((r) => r.email);
    await this.remember({ time: new Date().toISOString(), severity: alert.severity, cls: alert.cls, summary: alert.summary, sentTo: to, suppressed: false });
    if (to.length === 0) {
      this.deps.log.warning(`Alert with no recipient (alertconfig): ${alert.summary} [${CLASS_LABELS[alert.cls]} / ${cap(alert.severity)}]`);
      return;
    }
    const from = settings.from ?? `alert@${config.hostname}`;
    const subject = `${cap(alert.severity)}-${config.hostname}: (${CLASS_LABELS[alert.cls]}) ${alert.summary}`;
    const body = [
      `From: mxgate Alerts <${from}>`,
      `To: ${to.join(', ')}`,
      `Subject: ${subject}`,
      `Date: ${new Date().toUTCString()}`,
      `Message-ID: <${randomBytes(12).toString('hex')}@${config.hostname}>`,
      'Auto-Submitted: auto-generated',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      `The ${cap(alert.severity)} message is:`,
      '',
      alert.details,
      '',
      ...(suppressedBefore ? [`This alert was raised ${suppressedBefore} more time(s) since the last one was sent.`, ''] : []),
      `Version: mxgate, host ${config.hostname}`,
      '',
    ].join('\r\n');
    const mid = await enqueueGenerated(this.deps.spool, this.deps.ids, { listener: 'alert', hostname: config.hostname, from, to }, Buffer.from(body));
    this.deps.log.info(`Alert MID ${mid} queued to ${to.join(', ')}: ${subject}`);
    this.deps.queued();
  }

  async recent(): Promise<RecentAlert[]> {
    try {
      return JSON.parse(await readFile(this.file, 'utf8')) as RecentAlert[];
    } catch {
      return [];
    }
  }

  private async remember(entry: RecentAlert): Promise<void> {
    const list = [...(await this.recent()), entry].slice(-this.deps.config().alerts.keep);
    await ensureDir(path.dirname(this.file));
    await writeFileAtomic(this.file, JSON.stringify(list, null, 1));
  }
}
