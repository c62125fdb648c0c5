import type { LogPushStatus } from '../../control/protocol.js';
import type { Config } from '../../store/schema.js';
import { parseSyslogUrl, PUSHED_LOGS, type PushedLog } from '../../store/logs/syslogTarget.js';
import type { LogLevel } from './mailLog.js';
import { SyslogSender } from './syslogPush.js';

/** RFC 5424 facilities: mail for the mail log, authpriv for the access audit logs. */
const FACILITY: Record<PushedLog, number> = { mail_logs: 2, cli_logs: 10, gui_logs: 10 };

/**
 * The syslog receivers of the committed configuration (logconfig --syslog), one sender per log
 * that has one. A commit that changes a receiver, the host name or the trusted CA lists replaces
 * its sender (the old one's buffered lines are written first if it is connected).
 */
export class LogPushes {
  private readonly senders = new Map<PushedLog, { sender: SyslogSender; key: string }>();
  /** Dropped by senders that were replaced, so the counts never go down. */
  private readonly droppedBefore = new Map<PushedLog, number>();

  constructor(private readonly report: (level: 'Info' | 'Warning', text: string) => void) {}

  apply(config: Config, ca: string[]): void {
    for (const log of PUSHED_LOGS) {
      const url = config.logs.syslog[log];
      const key = url ? JSON.stringify([url, config.hostname, url.startsWith('tcp+tls:') ? ca : []]) : '';
      const running = this.senders.get(log);
      if (running?.key === key) continue;
      if (running) {
        running.sender.close();
        this.droppedBefore.set(log, (this.droppedBefore.get(log) ?? 0) + running.sender.droppedTotal);
        this.senders.delete(log);
      }
      if (url) this.senders.set(log, { key, sender: new SyslogSender(parseSyslogUrl(url), { hostname: config.hostname, log, facility: FACILITY[log], ca, report: this.report }) });
    }
  }

  send(log: PushedLog, level: LogLevel, text: string): void {
    this.senders.get(log)?.sender.send(level, text);
  }

  /** Lines each log's receivers did not get, since the engine started. */
  dropped(): { log: string; lines: number }[] {
    return PUSHED_LOGS.map((log) => ({ log, lines: (this.droppedBefore.get(log) ?? 0) + (this.senders.get(log)?.sender.droppedTotal ?? 0) }));
  }

  /** Each log that is pushed: where, and how it goes (status). */
  status(): LogPushStatus[] {
    return [...this.senders].map(([log, { sender }]) => {
      const s = sender.state();
      return { log, url: sender.url, ...s, dropped: s.dropped + (this.droppedBefore.get(log) ?? 0) };
    });
  }

  closeAll(): void {
    for (const { sender } of this.senders.values()) sender.close();
    this.senders.clear();
  }
}
