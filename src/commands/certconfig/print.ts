import { rootCertificates } from 'node:tls';
import { certInfo } from '../../pki/certificate.js';
import { shellTime } from '../../store/dates.js';
import { formatTable } from '../../shell/table.js';
import { certificateUsers } from '../../store/certificates/certificates.js';
import type { Config } from '../../store/schema.js';

/** The profiles as certconfig prints them. */

export function profileTable(config: Config): string[] {
  if (config.certificates.length === 0) return ['No certificate profiles.'];
  const rows = config.certificates.map((p) => {
    const info = certInfo(p.certificate);
    const status = p.csr && info.status === 'valid' ? 'CSR pending' : info.status;
    const users = certificateUsers(config, p.name);
    return [
      p.name + (p.demo ? ' (demo)' : ''),
      info.commonName,
      info.selfSigned ? 'self-signed' : info.issuerCommonName,
      status,
      String(info.daysRemaining),
      info.keyType,
      users.length ? users.join(', ') : '-',
    ];
  });
  return formatTable(['Name', 'Common Name', 'Issued By', 'Status', 'Remaining', 'Key', 'Used By'], rows);
}

/** Each profile in full (the dialog's PRINT; the menu itself shows the table). */
export function profileDetails(config: Config): string[] {
  if (config.certificates.length === 0) return ['No certificate profiles.'];
  return config.certificates.flatMap((p) => {
    const info = certInfo(p.certificate);
    const users = certificateUsers(config, p.name);
    return [
      '',
      `${p.name}${p.demo ? ' (demonstration certificate)' : ''}`,
      `    Subject: ${info.subject}`,
      `    Issuer: ${info.selfSigned ? 'self-signed' : info.issuer}${p.intermediates.length ? ` (${p.intermediates.length} intermediate certificate(s))` : ''}`,
      `    Valid from: ${shellTime(info.notBefore)}`,
      `    Valid until: ${shellTime(info.notAfter)} (${info.status}, ${info.daysRemaining} day(s) remaining)`,
      `    Names: ${info.dnsNames.join(', ') || '-'}`,
      `    Key: ${info.keyType}${p.csr ? ', signing request pending' : ''}`,
      `    SHA-256 fingerprint: ${info.fingerprint256}`,
      `    Used by: ${users.length ? users.join(', ') : '-'}`,
    ];
  });
}

/** Where the system CA list comes from. */
export function systemListVersion(config: Config): string {
  const b = config.certificateAuthorities.system.bundle;
  if (!b) return `Mozilla roots shipped with Node.js ${process.version} (${rootCertificates.length} certificates)`;
  return `${b.count} certificates loaded ${shellTime(b.updated)} from ${b.source}, SHA-256 ${b.sha256}`;
}

/** One CA of a trusted list, in full: what the appliance's CA page shows of it, and its PEM. */
export function caDetails(pem: string, n: number): string[] {
  const info = certInfo(pem);
  return [
    `${n}. ${info.subject}`,
    `   Issuer:      ${info.selfSigned ? 'itself (self-signed root)' : info.issuer}`,
    `   Valid:       ${info.notBefore.toUTCString()} to ${info.notAfter.toUTCString()} (${info.status}${info.status === 'valid' ? `, ${info.daysRemaining} day(s) left` : ''})`,
    `   Key:         ${info.keyType}`,
    `   Serial:      ${info.serialNumber}`,
    `   SHA-256:     ${info.fingerprint256}`,
    ...pem.trimEnd().split('\n').map((l) => `   ${l}`),
  ];
}
