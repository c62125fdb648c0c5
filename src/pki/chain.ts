import { X509Certificate } from 'node:crypto';
import { parseCertificate } from './certificate.js';
import { pkijs } from './provider.js';

export interface ChainResult {
  valid: boolean;
  /** Why not, in the validator's words. */
  reason?: string;
}

/** Trust anchors are parsed once: the system list alone is some 140 certificates. */
const parsed = new Map<string, pkijs.Certificate>();
function toPkijs(pem: string): pkijs.Certificate {
  let cert = parsed.get(pem);
  if (!cert) {
    cert = pkijs.Certificate.fromBER(parseCertificate(pem).raw);
    if (parsed.size > 5000) parsed.clear();
    parsed.set(pem, cert);
  }
  return cert;
}

/** Subject and issuer names of certificates seen before, normalised for a quick comparison. */
const names = new Map<string, { subject: string; issuer: string }>();
const norm = (dn: string) => dn.toLowerCase().replace(/\s+/g, ' ').trim();
function namesOf(pem: string): { subject: string; issuer: string } {
  let n = names.get(pem);
  if (!n) {
    const x = new X509Certificate(pem);
    n = { subject: norm(x.subject), issuer: norm(x.issuer) };
    if (names.size > 5000) names.clear();
    names.set(pem, n);
  }
  return n;
}

/**
 * The trust anchors that can have issued a certificate of the chain. pkijs compares every anchor's
 * name with every certificate's issuer, byte by byte through slow helpers; with the ~140 system
 * roots that was most of the CPU of a verified delivery (profile in bench/mta-sts.ts). The text form
 * of the names is a superset filter: pkijs still makes the exact comparison. When no anchor fits,
 * all are given, so the failure reads as it always did.
 */
function candidateAnchors(trusted: string[], chain: string[]): string[] {
  const issuers = new Set(chain.map((pem) => namesOf(pem).issuer));
  const fit = trusted.filter((pem) => issuers.has(namesOf(pem).subject));
  return fit.length ? fit : trusted;
}

/**
 * Validate a certificate against trust anchors (the enabled CA lists) with the intermediates the
 * peer sent: signatures, validity periods and CA constraints along the whole path (pkijs).
 */
export async function validateChain(leafPem: string, intermediatePems: string[], trustedPems: string[], checkDate = new Date()): Promise<ChainResult> {
  if (trustedPems.length === 0) return { valid: false, reason: 'No trusted certificate authorities are enabled' };
  const engine = new pkijs.CertificateChainValidationEngine({
    trustedCerts: candidateAnchors(trustedPems, [leafPem, ...intermediatePems]).map(toPkijs),
    // pkijs takes the last certificate as the one to validate: leaf last.
    certs: [...intermediatePems, leafPem].map(toPkijs),
    checkDate,
  });
  let reason: string;
  try {
    const result = await engine.verify();
    if (result.result) return { valid: true };
    reason = result.resultMessage;
  } catch (err) {
    const e = err as { resultMessage?: string; message?: string };
    reason = e.resultMessage ?? e.message ?? String(err);
  }
  const missing = missingIssuer(trustedPems, [leafPem, ...intermediatePems]);
  return { valid: false, reason: missing ? `${reason} (no enabled CA list has "${missing}", the issuer of the top of the chain the server sent)` : reason };
}

/**
 * The issuer a chain stops at when no trust anchor has that name (what an administrator must add
 * or enable); undefined when one does, so the failure is something else (expired, bad signature).
 */
export function missingIssuer(trusted: string[], chain: string[]): string | undefined {
  const subjects = new Set(chain.map((pem) => namesOf(pem).subject));
  const anchors = new Set(trusted.map((pem) => namesOf(pem).subject));
  const top = chain.find((pem) => !subjects.has(namesOf(pem).issuer) || namesOf(pem).issuer === namesOf(pem).subject);
  if (!top || anchors.has(namesOf(top).issuer)) return undefined;
  return new X509Certificate(top).issuer.replace(/\n/g, ', ');
}
