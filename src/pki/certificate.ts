import { createHash, createPrivateKey, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { PemError } from './pem.js';

export type CertStatus = 'valid' | 'expired' | 'not yet valid';

export interface CertInfo {
  subject: string;
  commonName: string;
  issuer: string;
  issuerCommonName: string;
  notBefore: Date;
  notAfter: Date;
  status: CertStatus;
  daysRemaining: number;
  keyType: string;
  dnsNames: string[];
  selfSigned: boolean;
  isCA: boolean;
  fingerprint256: string;
  serialNumber: string;
}

/**
 * A peer's certificate, parsed once for the sessions that present it: OpenSSL 3 takes 0.1-0.2 ms
 * to parse one, and a server sends the same chain session after session. Bounded (a stranger
 * presenting new or huge certificates cannot grow it); throws as X509Certificate does.
 */
export function peerCertificate(pemOrDer: string | Buffer): X509Certificate {
  // A PEM begins with "-----", which base64 (the key of a DER) never holds: the keys cannot meet.
  const key = typeof pemOrDer === 'string' ? pemOrDer : pemOrDer.toString('base64');
  let cert = peers.get(key);
  if (!cert) {
    cert = new X509Certificate(pemOrDer);
    if (key.length > 16_384) return cert;
    if (peers.size >= 1000) peers.clear();
    peers.set(key, cert);
  }
  return cert;
}
const peers = new Map<string, X509Certificate>();

export function parseCertificate(pem: string, what = 'The certificate'): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new PemError(`${what} cannot be read: ${(err as Error).message}`);
  }
}

export function parsePrivateKey(pem: string, what = 'The private key'): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    const msg = (err as Error).message;
    throw new PemError(/passphrase/i.test(msg) ? `${what} is encrypted; give it unencrypted (PEM "PRIVATE KEY").` : `${what} cannot be read: ${msg}`);
  }
}

const field = (dn: string, key: string) => new RegExp(`(?:^|\\n)${key}=([^\\n]*)`).exec(dn)?.[1] ?? '';

export function keyDescription(key: KeyObject): string {
  const d = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') return `RSA ${d.modulusLength ?? '?'}`;
  if (key.asymmetricKeyType === 'ec') return `ECDSA ${d.namedCurve === 'prime256v1' ? 'P-256' : d.namedCurve === 'secp384r1' ? 'P-384' : d.namedCurve ?? ''}`.trim();
  return (key.asymmetricKeyType ?? 'unknown').toUpperCase();
}

/** The names a certificate gives its server: subjectAltName dNSName entries and the subject CN. */
export function serverNames(c: X509Certificate): { dnsNames: string[]; commonName: string | undefined } {
  const dnsNames = (c.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4));
  return { dnsNames, commonName: /(?:^|\n)CN=([^\n]*)/.exec(c.subject)?.[1] };
}

export function certInfo(pem: string, now = new Date()): CertInfo {
  const c = parseCertificate(pem);
  const notBefore = new Date(c.validFrom);
  const notAfter = new Date(c.validTo);
  const status: CertStatus = now < notBefore ? 'not yet valid' : now > notAfter ? 'expired' : 'valid';
  const { dnsNames } = serverNames(c);
  return {
    subject: c.subject.replace(/\n/g, ', '),
    commonName: field(c.subject, 'CN'),
    issuer: c.issuer.replace(/\n/g, ', '),
    issuerCommonName: field(c.issuer, 'CN') || field(c.issuer, 'O'),
    notBefore,
    notAfter,
    status,
    // Whole days, a started day counting: a certificate made for 365 days shows 365, not 364.
    daysRemaining: Math.max(0, Math.ceil((notAfter.getTime() - now.getTime()) / 86_400_000)),
    keyType: keyDescription(c.publicKey),
    dnsNames,
    selfSigned: c.subject === c.issuer && c.verify(c.publicKey),
    isCA: c.ca,
    fingerprint256: c.fingerprint256,
    serialNumber: c.serialNumber,
  };
}

/** Key reference: SHA-256 of the public key (SPKI DER), the same for a key and its certificates. */
export function keyId(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('hex');
}

/** The certificate carries the public half of this private key. */
export function keyMatches(certPem: string, key: KeyObject): boolean {
  return parseCertificate(certPem).checkPrivateKey(key);
}

/**
 * What a CA issued for an order, checked before it is used: a leaf for exactly the names asked
 * (no more, no fewer), for our key, valid now. Returns the problem, or undefined when it is good.
 */
export function issuedProblem(leafPem: string, names: readonly string[], key: KeyObject, now = new Date()): string | undefined {
  const c = parseCertificate(leafPem, 'The issued certificate');
  const got = new Set(serverNames(c).dnsNames.map((n) => n.toLowerCase()));
  const asked = new Set(names.map((n) => n.toLowerCase()));
  const extra = [...got].filter((n) => !asked.has(n));
  const missing = [...asked].filter((n) => !got.has(n));
  if (extra.length || missing.length) return `the certificate the CA issued is for other names (${[...got].join(', ') || 'none'}; asked for ${[...asked].join(', ')})`;
  if (!keyMatches(leafPem, key)) return 'the certificate the CA issued is not for the key of the request';
  const info = certInfo(leafPem, now);
  if (info.status !== 'valid') return `the certificate the CA issued is ${info.status}`;
  return undefined;
}
