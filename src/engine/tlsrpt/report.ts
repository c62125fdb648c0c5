import { randomBytes } from 'node:crypto';
import type { DayRecord, PolicyCounts } from './recorder.js';

/** Who reports and over which time (RFC 8460 §4.4). */
export interface ReportMeta {
  organization: string;
  /** contact-info: an e-mail address. */
  contact: string;
  /** The submitter: our host name. */
  submitter: string;
  start: Date;
  end: Date;
  reportId: string;
}

export class TlsRptRecordError extends Error {
  override name = 'TlsRptRecordError';
}

/** The day's material grouped by policy domain: one report per domain. */
export function reportsByDomain(day: DayRecord): Map<string, PolicyCounts[]> {
  const out = new Map<string, PolicyCounts[]>();
  for (const counts of Object.values(day.policies)) {
    const d = counts.policy.domain.toLowerCase();
    out.set(d, [...(out.get(d) ?? []), counts]);
  }
  return out;
}

const stamp = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export const newReportId = (meta: { start: Date }, domain: string) => `${stamp(meta.start).slice(0, 10)}.${domain}.${randomBytes(6).toString('hex')}`;

/** The aggregate report of RFC 8460 §4.4 for one policy domain. */
export function buildReport(meta: ReportMeta, policies: PolicyCounts[]): Record<string, unknown> {
  return {
    'organization-name': meta.organization,
    'date-range': { 'start-datetime': stamp(meta.start), 'end-datetime': stamp(meta.end) },
    'contact-info': meta.contact,
    'report-id': meta.reportId,
    policies: policies.map((p) => ({
      policy: {
        'policy-type': p.policy.type,
        ...(p.policy.strings.length ? { 'policy-string': p.policy.strings } : {}),
        'policy-domain': p.policy.domain,
        ...(p.policy.mxHosts.length ? { 'mx-host': p.policy.mxHosts } : {}),
      },
      summary: { 'total-successful-session-count': p.success, 'total-failure-session-count': p.failures.reduce((n, f) => n + f.count, 0) },
      ...(p.failures.length
        ? {
            'failure-details': p.failures.map((f) => ({
              'result-type': f.type,
              ...(f.sendingIp ? { 'sending-mta-ip': f.sendingIp } : {}),
              ...(f.mxHost ? { 'receiving-mx-hostname': f.mxHost } : {}),
              ...(f.receivingIp ? { 'receiving-ip': f.receivingIp } : {}),
              'failed-session-count': f.count,
              ...(f.reason ? { 'failure-reason-code': f.reason.slice(0, 200) } : {}),
            })),
          }
        : {}),
    })),
  };
}

/**
 * The report addresses (rua) of the TXT records of `_smtp._tls.<domain>` (RFC 8460 §3): exactly
 * one record beginning `v=TLSRPTv1`, rua a comma-separated list of mailto: and https: URIs.
 */
export function parseTlsRptRecord(txts: string[]): string[] {
  const records = txts.filter((t) => /^v=TLSRPTv1(;|\s|$)/.test(t));
  if (records.length !== 1) throw new TlsRptRecordError(records.length ? `${records.length} records begin with v=TLSRPTv1 (one is allowed)` : 'no TXT record begins with v=TLSRPTv1');
  const rua = /(?:^|;)\s*rua\s*=\s*([^;]+)/.exec(records[0]!)?.[1];
  if (!rua) throw new TlsRptRecordError('the record has no rua');
  const uris = rua.split(',').map((u) => u.trim()).filter((u) => /^(mailto:[^\s@]+@[^\s@]+|https:\/\/\S+)$/i.test(u));
  if (!uris.length) throw new TlsRptRecordError(`rua "${rua.slice(0, 80)}" names no mailto: or https: address`);
  return uris;
}

/** The report file name of RFC 8460 §5.1: submitter!policy-domain!begin!end!id.json.gz. */
export function reportFileName(meta: ReportMeta, domain: string): string {
  const secs = (d: Date) => Math.floor(d.getTime() / 1000);
  return `${meta.submitter}!${domain}!${secs(meta.start)}!${secs(meta.end)}!${meta.reportId.replace(/[^A-Za-z0-9.-]/g, '')}.json.gz`;
}

/** The report mail of RFC 8460 §5.3: multipart/report; report-type="tlsrpt", the JSON gzipped. */
export function reportMail(meta: ReportMeta, domain: string, from: string, to: string, gz: Buffer): Buffer {
  const boundary = `tlsrpt-${randomBytes(8).toString('hex')}`;
  const b64 = gz.toString('base64').replace(/.{76}/g, '$&\r\n');
  const lines = [
    `From: ${from}`,
    `To: ${to}`,
    `Subject: Report Domain: ${domain} Submitter: ${meta.submitter} Report-ID: <${meta.reportId}@${meta.submitter}>`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: <${meta.reportId}@${meta.submitter}>`,
    `TLS-Report-Domain: ${domain}`,
    `TLS-Report-Submitter: ${meta.submitter}`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type="tlsrpt"; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    `This is an aggregate TLS report (RFC 8460) from ${meta.organization} (${meta.submitter}) for ${domain},`,
    `covering ${meta.start.toISOString()} to ${meta.end.toISOString()}.`,
    '',
    `--${boundary}`,
    'Content-Type: application/tlsrpt+gzip',
    'Content-Transfer-Encoding: base64',
    `Content-Disposition: attachment; filename="${reportFileName(meta, domain)}"`,
    '',
    b64,
    `--${boundary}--`,
    '',
  ];
  return Buffer.from(lines.join('\r\n'));
}
