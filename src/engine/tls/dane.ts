import { createHash, X509Certificate } from 'node:crypto';
import { peerCertificate, serverNames } from '../../pki/certificate.js';
import { validateChain } from '../../pki/chain.js';
import { toPem } from '../../pki/pem.js';
import { association } from '../../pki/tlsa.js';
import { nameMatches } from './names.js';
import { BoundedMap } from '../boundedMap.js';

/** A TLSA record (RFC 6698): certificate usage, selector, matching type, association data. */
export interface Tlsa {
  usage: number;
  selector: number;
  matchingType: number;
  data: Buffer;
}

export const tlsaText = (r: Pick<Tlsa, 'usage' | 'selector' | 'matchingType'>) => `${r.usage} ${r.selector} ${r.matchingType}`;

/**
 * RFC 7672 §3.1: for SMTP only DANE-TA(2) and DANE-EE(3) are usable; PKIX-TA(0) and PKIX-EE(1)
 * are not. Selector 0 (full certificate) or 1 (SubjectPublicKeyInfo); matching type 0 (exact),
 * 1 (SHA-256) or 2 (SHA-512). Anything else is unusable and ignored.
 */
export function usable(r: Tlsa): boolean {
  return (r.usage === 2 || r.usage === 3) && (r.selector === 0 || r.selector === 1) && r.matchingType >= 0 && r.matchingType <= 2 && r.data.length > 0;
}

/**
 * The association data of a certificate (by its DER, SHA-256) for a selector and matching type: a
 * host presents the same certificate on every connection, and parsing it and exporting its key is
 * most of what a DANE check costs. Bounded, oldest out first.
 */
const associations = new BoundedMap<string, Buffer>(1024);

function matches(r: Tlsa, der: Buffer, parse: () => X509Certificate): boolean {
  const key = `${r.selector} ${r.matchingType} ${createHash('sha256').update(der).digest('base64')}`;
  let data = associations.get(key);
  if (!data) {
    data = association(parse(), r.selector, r.matchingType);
    associations.set(key, data);
  }
  return data.equals(r.data);
}

export interface DaneCheck {
  /** The chain the server sent, leaf first (DER). */
  chain: Buffer[];
  /** Usable TLSA records of the host. */
  records: Tlsa[];
  /**
   * Reference identifiers for DANE-TA (RFC 7672 §3.2.2): the TLSA base domain, the MX host name
   * and the next-hop (destination) domain. DANE-EE checks no name.
   */
  names: string[];
  now?: Date;
}

export type DaneResult = { ok: true; matched: Tlsa; how: string } | { ok: false; reason: string };

/**
 * Authenticate a server by its TLSA records. Any matching record is enough.
 * - DANE-EE(3): the leaf certificate (or its key) matches; no name, expiry or chain checks.
 * - DANE-TA(2): a certificate the server sent (not the leaf) matches; the chain from the leaf to
 *   it validates with it as the trust anchor (expiry included), and a leaf name (dNSName SANs,
 *   the CN only when there are none; "*" only as the whole left-most label) matches one of `names`.
 */
export async function verifyDane(check: DaneCheck): Promise<DaneResult> {
  if (check.chain.length === 0) return { ok: false, reason: 'the server sent no certificate' };
  // Parsed only when needed: a known certificate matching a DANE-EE record is not parsed at all.
  const parsed = new Map<number, X509Certificate>();
  const cert = (i: number) => parsed.get(i) ?? parsed.set(i, peerCertificate(check.chain[i]!)).get(i)!;
  const matchesCert = (r: Tlsa, i: number) => matches(r, check.chain[i]!, () => cert(i));
  const failures: string[] = [];
  for (const r of check.records.filter((x) => x.usage === 3)) {
    if (matchesCert(r, 0)) return { ok: true, matched: r, how: `TLSA ${tlsaText(r)} matches the server certificate` };
  }
  if (check.records.some((r) => r.usage === 3)) failures.push('no DANE-EE (3) record matches the server certificate');
  const taRecords = check.records.filter((r) => r.usage === 2);
  let anchorFound = false;
  for (const r of taRecords) {
    const index = check.chain.findIndex((_, i) => i > 0 && matchesCert(r, i));
    if (index < 0) continue;
    anchorFound = true;
    const anchor = toPem('CERTIFICATE', check.chain[index]!);
    const intermediates = check.chain.slice(1, index).map((der) => toPem('CERTIFICATE', der));
    const chain = await validateChain(toPem('CERTIFICATE', check.chain[0]!), intermediates, [anchor], check.now);
    if (!chain.valid) {
      failures.push(`TLSA ${tlsaText(r)} matches "${cert(index).subject.replace(/\n/g, ', ')}" but the chain to it does not validate: ${chain.reason}`);
      continue;
    }
    const { dnsNames, commonName } = serverNames(cert(0));
    const presented = dnsNames.length ? dnsNames : commonName ? [commonName] : [];
    if (!presented.some((p) => check.names.some((n) => nameMatches(p, n)))) {
      failures.push(`TLSA ${tlsaText(r)} matches the issuer, but the certificate names (${presented.join(', ') || 'none'}) do not match ${check.names.join(' or ')}`);
      continue;
    }
    return { ok: true, matched: r, how: `TLSA ${tlsaText(r)} matches the trust anchor "${cert(index).subject.replace(/\n/g, ', ')}"` };
  }
  if (taRecords.length && !anchorFound) failures.push('no DANE-TA (2) record matches a certificate the server sent');
  return { ok: false, reason: failures.join('; ') };
}
