import { randomBytes } from 'node:crypto';
import type { Outcome } from './outcome.js';

/** A recipient given up on, with the outcome the DSN reports (its status code and text). */
export interface Failed {
  address: string;
  outcome: Outcome;
}

/**
 * What a DSN reports: recipients given up on (failure), or recipients still being tried (delay, a
 * bounce profile's delay warning, with the time the queue gives up on them).
 */
export type DsnKind = { kind: 'failure' } | { kind: 'delay'; willRetryUntil: Date };

/** A delivery status notification (RFC 3464) telling the sender (or a profile's alternate address) about these recipients. */
export function buildBounce(hostname: string, original: { from: string; to: string; receivedAt: string; message: Buffer }, failed: Failed[], what: DsnKind = { kind: 'failure' }): Buffer {
  const boundary = `mxgate-${randomBytes(8).toString('hex')}`;
  const headerEnd = original.message.indexOf('\r\n\r\n');
  const headers = original.message.subarray(0, headerEnd < 0 ? Math.min(original.message.length, 65536) : headerEnd).toString('utf8');
  const lines = [
    `From: Mail Delivery System <MAILER-DAEMON@${hostname}>`,
    `To: <${original.to}>`,
    `Subject: Delivery Status Notification (${what.kind === 'delay' ? 'Delay' : 'Failure'})`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: <${randomBytes(12).toString('hex')}@${hostname}>`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    what.kind === 'delay'
      ? `Your message has not been delivered to ${failed.length === 1 ? 'this recipient' : 'these recipients'} yet. Delivery is being retried until ${what.willRetryUntil.toUTCString()}; you need not send it again:`
      : `Your message could not be delivered to ${failed.length === 1 ? 'this recipient' : 'these recipients'}:`,
    '',
    ...failed.map((f) => `  <${f.address}>: ${f.outcome.text}`),
    '',
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    '',
    `Reporting-MTA: dns; ${hostname}`,
    `Arrival-Date: ${new Date(original.receivedAt).toUTCString()}`,
    '',
    ...failed.flatMap((f) => [
      `Final-Recipient: rfc822; ${f.address}`,
      `Action: ${what.kind === 'delay' ? 'delayed' : 'failed'}`,
      `Status: ${f.outcome.status}`,
      `Diagnostic-Code: smtp; ${f.outcome.text.replace(/\r?\n/g, ' ')}`,
      ...(what.kind === 'delay' ? [`Will-Retry-Until: ${what.willRetryUntil.toUTCString()}`] : []),
      '',
    ]),
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    '',
    headers.replace(/\r?\n/g, '\r\n'),
    '',
    `--${boundary}--`,
    '',
  ];
  return Buffer.from(lines.join('\r\n'));
}
