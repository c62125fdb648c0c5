import { randomBytes } from 'node:crypto';

export interface Failed {
  address: string;
  response: string;
}

/** A delivery status notification (RFC 3464) telling the sender which recipients failed. */
export function buildBounce(hostname: string, original: { from: string; receivedAt: string; message: Buffer }, failed: Failed[]): Buffer {
  const boundary = `mxgate-${randomBytes(8).toString('hex')}`;
  const headerEnd = original.message.indexOf('\r\n\r\n');
  const headers = original.message.subarray(0, headerEnd < 0 ? Math.min(original.message.length, 65536) : headerEnd).toString('utf8');
  const status = (response: string) => /\b([245]\.\d{1,3}\.\d{1,3})\b/.exec(response)?.[1] ?? (response.startsWith('4') ? '4.0.0' : '5.0.0');
  const lines = [
    `From: Mail Delivery System <MAILER-DAEMON@${hostname}>`,
    `To: <${original.from}>`,
    'Subject: Delivery Status Notification (Failure)',
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: <${randomBytes(12).toString('hex')}@${hostname}>`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    `Your message could not be delivered to ${failed.length === 1 ? 'this recipient' : 'these recipients'}:`,
    '',
    ...failed.map((f) => `  <${f.address}>: ${f.response}`),
    '',
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    '',
    `Reporting-MTA: dns; ${hostname}`,
    `Arrival-Date: ${new Date(original.receivedAt).toUTCString()}`,
    '',
    ...failed.flatMap((f) => [`Final-Recipient: rfc822; ${f.address}`, 'Action: failed', `Status: ${status(f.response)}`, `Diagnostic-Code: smtp; ${f.response.replace(/\r?\n/g, ' ')}`, '']),
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
