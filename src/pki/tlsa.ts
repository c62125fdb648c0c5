import { createHash, X509Certificate } from 'node:crypto';
import { serverNames } from './certificate.js';

/** The bytes a TLSA selector picks from a certificate: 0 the whole certificate, 1 its SubjectPublicKeyInfo (DER). */
export function selected(cert: X509Certificate, selector: number): Buffer {
  return selector === 0 ? cert.raw : (cert.publicKey.export({ type: 'spki', format: 'der' }) as Buffer);
}

/** The association data of a TLSA record for a certificate: matching type 0 exact, 1 SHA-256, 2 SHA-512. */
export function association(cert: X509Certificate, selector: number, matchingType: number): Buffer {
  const bytes = selected(cert, selector);
  if (matchingType === 0) return bytes;
  return createHash(matchingType === 1 ? 'sha256' : 'sha512').update(bytes).digest();
}

/**
 * TLSA records to publish for our own certificate (RFC 7671 §5.1, RFC 7672 §3.1): `3 1 1` for its
 * key, and `2 1 1` for the key of the CA that issued it (the first intermediate) when there is
 * one. One owner name per name the certificate is for (dNSName entries, else the CN).
 */
export function tlsaRecordsFor(certPem: string, intermediates: string[], port = 25): string[] {
  const leaf = new X509Certificate(certPem);
  const { dnsNames, commonName } = serverNames(leaf);
  const hosts = (dnsNames.length ? dnsNames : commonName ? [commonName] : []).filter((h) => !h.startsWith('*.'));
  const issuer = intermediates[0] ? new X509Certificate(intermediates[0]) : undefined;
  const lines: string[] = [];
  for (const host of hosts) {
    lines.push(`_${port}._tcp.${host}. IN TLSA 3 1 1 ${association(leaf, 1, 1).toString('hex')}`);
    if (issuer) lines.push(`_${port}._tcp.${host}. IN TLSA 2 1 1 ${association(issuer, 1, 1).toString('hex')}`);
  }
  return lines;
}
