import { createHash, X509Certificate } from 'node:crypto';
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

/** Subject and issuer names (normalised for a quick comparison) and validity of certificates seen before. */
const names = new Map<string, { subject: string; issuer: string; notBefore: number; notAfter: number }>();
const norm = (dn: string) => dn.toLowerCase().replace(/\s+/g, ' ').trim();
function namesOf(pem: string): { subject: string; issuer: string; notBefore: number; notAfter: number } {
  let n = names.get(pem);
  if (!n) {
    const x = new X509Certificate(pem);
    n = { subject: norm(x.subject), issuer: norm(x.issuer), notBefore: Date.parse(x.validFrom), notAfter: Date.parse(x.validTo) };
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
 * Results of earlier validations. A result depends on the chain, the anchors and the date only
 * through the certificates' validity periods, so it holds from when it was reached until the first
 * notBefore or notAfter among them (at most ten minutes): a peer that sends the same chain session
 * after session is validated once (pkijs took ~25 ms of CPU per session with a chain no anchor
 * fits, bench/outbound-vs-postfix.ts). Bounded: a stranger sending new chains cannot grow it.
 */
const results = new Map<string, { result: ChainResult; from: number; until: number }>();
const REMEMBER_MS = 10 * 60_000;
/** A digest of each list of anchors, once per list (the delivery context keeps one per configuration). */
const anchorDigests = new WeakMap<string[], string>();
function resultKey(leafPem: string, intermediatePems: string[], trustedPems: string[]): string {
  let anchors = anchorDigests.get(trustedPems);
  if (!anchors) {
    anchors = createHash('sha256').update(trustedPems.join('\0')).digest('base64');
    anchorDigests.set(trustedPems, anchors);
  }
  return createHash('sha256').update(anchors).update([leafPem, ...intermediatePems].join('\0')).digest('base64');
}

/** The first validity boundary of any certificate involved after `from`, at most REMEMBER_MS on. */
function holdsUntil(from: number, pems: string[]): number {
  let until = from + REMEMBER_MS;
  for (const pem of pems) {
    const { notBefore, notAfter } = namesOf(pem);
    if (Number.isNaN(notBefore) || Number.isNaN(notAfter)) return from; // not understood: not remembered
    if (notBefore > from) until = Math.min(until, notBefore);
    if (notAfter >= from) until = Math.min(until, notAfter + 1);
  }
  return until;
}

/**
 * Validate a certificate against trust anchors (the enabled CA lists) with the intermediates the
 * peer sent: signatures, validity periods and CA constraints along the whole path (pkijs).
 */
export async function validateChain(leafPem: string, intermediatePems: string[], trustedPems: string[], checkDate = new Date()): Promise<ChainResult> {
  if (trustedPems.length === 0) return { valid: false, reason: 'No trusted certificate authorities are enabled' };
  const at = checkDate.getTime();
  const key = resultKey(leafPem, intermediatePems, trustedPems);
  const known = results.get(key);
  if (known && known.from <= at && at < known.until) return known.result;
  const anchors = candidateAnchors(trustedPems, [leafPem, ...intermediatePems]);
  const result = await validateOnce(leafPem, intermediatePems, anchors, trustedPems, checkDate);
  if (results.size >= 2000) results.clear();
  results.set(key, { result, from: at, until: holdsUntil(at, [leafPem, ...intermediatePems, ...anchors]) });
  return result;
}

async function validateOnce(leafPem: string, intermediatePems: string[], anchors: string[], trustedPems: string[], checkDate: Date): Promise<ChainResult> {
  const engine = new pkijs.CertificateChainValidationEngine({
    trustedCerts: anchors.map(toPkijs),
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
