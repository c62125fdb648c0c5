import net from 'node:net';
import { hostnameProblem } from '../grammar.js';

/** The logs that can be pushed to syslog receivers (logconfig): the mail log and the two audit logs. */
export const PUSHED_LOGS = ['mail_logs', 'cli_logs', 'gui_logs'] as const;
export type PushedLog = (typeof PUSHED_LOGS)[number];

export interface SyslogTarget {
  /** tcp and tcp+tls: RFC 6587 octet counting (RFC 5425 for TLS); udp: one datagram per line (RFC 5426). */
  transport: 'tcp' | 'tcp+tls' | 'udp';
  host: string;
  port: number;
}

const URL_FORM = /^(tcp|tcp\+tls|udp):\/\/(\[[0-9A-Fa-f:.]+\]|[^:/[\]\s]+):(\d{1,5})$/;

/** The problem with a syslog receiver's URL (one sentence), or undefined when it is good. */
export function syslogUrlProblem(url: string): string | undefined {
  const m = URL_FORM.exec(url);
  if (!m) return `"${url}" is not a syslog receiver: give tcp+tls://HOST:PORT, tcp://HOST:PORT or udp://HOST:PORT (or none).`;
  const host = m[2]!.replace(/^\[|\]$/g, '');
  if (m[2]!.startsWith('[') && net.isIP(host) !== 6) return `"${m[2]}" is not an IPv6 address.`;
  if (!net.isIP(host)) {
    const problem = hostnameProblem(host);
    if (problem) return problem;
  }
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return `${port} is not a port (1 to 65535).`;
  return undefined;
}

export function parseSyslogUrl(url: string): SyslogTarget {
  const problem = syslogUrlProblem(url);
  if (problem) throw new Error(problem);
  const m = URL_FORM.exec(url)!;
  return { transport: m[1] as SyslogTarget['transport'], host: m[2]!.replace(/^\[|\]$/g, ''), port: Number(m[3]) };
}
