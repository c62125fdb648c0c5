import { peerCertificate, serverNames } from '../../pki/certificate.js';
import { validateChain } from '../../pki/chain.js';
import { isFqdn } from '../../pki/names.js';
import { pkijs } from '../../pki/provider.js';
import { nameMatches } from './names.js';

export interface PeerCheck {
  /** The chain the server sent, leaf first (PEM). */
  chain: string[];
  /** Trust anchors: the enabled system and custom CA lists. */
  trusted: string[];
  mxHost: string;
  domain: string;
  /** standard: the appliance's rule; hosted: RFC 6125 strict (Required - Verify Hosted Domain). */
  identity: 'standard' | 'hosted';
  /** sslconfig peer-cert-fqdn / peer-cert-x509. */
  fqdnCheck?: boolean;
  x509Check?: boolean;
  now?: Date;
}

export type PeerResult = { ok: true } | { ok: false; reason: string };

const WEAK_SIGNATURES: Record<string, string> = {
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10040.4.3': 'dsa-with-SHA1',
};

/**
 * Verify a delivery peer the way the AsyncOS guide's "verification process" describes: the chain must end
 * at an enabled CA (with the intermediates the server sent), and the name must fit.
 * - standard: the CN matches the MX host or the destination domain, or the destination domain
 *   matches a subjectAltName dNSName;
 * - hosted: presented identifiers are the dNSName entries (the CN only when there are none), and
 *   either the destination domain or the MX host must match one of them.
 */
export async function verifyPeer(check: PeerCheck): Promise<PeerResult> {
  if (check.chain.length === 0) return { ok: false, reason: 'the server sent no certificate' };
  const leaf = peerCertificate(check.chain[0]!);
  const chain = await validateChain(check.chain[0]!, check.chain.slice(1), check.trusted, check.now);
  if (!chain.valid) return { ok: false, reason: `certificate chain: ${chain.reason}` };

  const { dnsNames: dns, commonName: cn } = serverNames(leaf);
  if (check.identity === 'hosted') {
    const ids = dns.length ? dns : cn ? [cn] : [];
    if (!ids.some((id) => nameMatches(id, check.domain) || nameMatches(id, check.mxHost))) {
      return { ok: false, reason: `no ${dns.length ? 'subjectAltName dNSName' : 'common name'} (${ids.join(', ') || 'none'}) matches ${check.domain} or ${check.mxHost}` };
    }
  } else {
    const cnOk = cn !== undefined && (nameMatches(cn, check.mxHost) || nameMatches(cn, check.domain));
    const sanOk = dns.some((d) => nameMatches(d, check.domain));
    if (!cnOk && !sanOk) {
      return { ok: false, reason: `the certificate (CN ${cn ?? 'none'}; SAN ${dns.join(', ') || 'none'}) does not match ${check.mxHost} or ${check.domain}` };
    }
  }
  if (check.fqdnCheck) {
    const bad = [...(cn ? [cn] : []), ...dns].filter((n) => !isFqdn(n));
    if (bad.length) return { ok: false, reason: `not in FQDN format: ${bad.join(', ')}` };
  }
  if (check.x509Check) {
    const cert = pkijs.Certificate.fromBER(leaf.raw);
    if (cert.version !== 2) return { ok: false, reason: `X.509 version ${cert.version + 1} certificate (version 3 required)` };
    const weak = WEAK_SIGNATURES[cert.signatureAlgorithm.algorithmId];
    if (weak) return { ok: false, reason: `weak signature algorithm ${weak}` };
    if (!cn && dns.length === 0) return { ok: false, reason: 'the certificate names no server' };
  }
  return { ok: true };
}
