import { certInfo } from '../../pki/certificate.js';
import { certificateUsers } from '../../store/certificates/certificates.js';
import type { Config } from '../../store/schema.js';
import type { Alert } from './alerts.js';

/**
 * Certificates in use that expire soon or have expired: every profile something presents (its
 * leaf and intermediates: listeners, outbound TLS, HTTPS) and the custom CA list when it is enabled.
 * One alert per certificate and stage ("expires in N days", "has expired"); `sent` remembers
 * which went out, so a check every minute does not repeat them.
 */
export function expiryAlerts(config: Config, sent: Set<string>, now = new Date()): Alert[] {
  const warnDays = config.alerts.certificateWarnDays;
  const alerts: Alert[] = [];
  const check = (pem: string, what: string, users: string) => {
    let info;
    try {
      info = certInfo(pem, now);
    } catch {
      return;
    }
    const expired = info.notAfter.getTime() <= now.getTime();
    if (!expired && info.daysRemaining > warnDays) return;
    const key = `certificate-expiry:${info.fingerprint256}:${expired ? 'expired' : 'soon'}`;
    if (sent.has(key)) return;
    sent.add(key);
    const when = info.notAfter.toUTCString();
    alerts.push({
      cls: 'system',
      severity: 'warning',
      summary: expired ? `${what} has expired (${when})` : `${what} expires in ${info.daysRemaining} day(s) (${when})`,
      details: `${what}: ${info.subject}\r\nValid until: ${when}\r\nUsed by: ${users}\r\nReplace it with "certconfig" and commit; peers that verify certificates will refuse it once it has expired.`,
      key,
    });
  };
  for (const p of config.certificates) {
    const users = certificateUsers(config, p.name);
    if (users.length === 0) continue;
    check(p.certificate, `The certificate of profile ${p.name}`, users.join(', '));
    p.intermediates.forEach((pem, i) => check(pem, `Intermediate certificate ${i + 1} of profile ${p.name}`, users.join(', ')));
  }
  if (config.certificateAuthorities.custom.enabled) {
    config.certificateAuthorities.custom.certificates.forEach((pem, i) => check(pem, `Custom CA list entry ${i + 1}`, 'outbound TLS verification'));
  }
  return alerts;
}
