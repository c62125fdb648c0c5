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

/**
 * Validate a certificate against trust anchors (the enabled CA lists) with the intermediates the
 * peer sent: signatures, validity periods and CA constraints along the whole path (pkijs).
 */
export async function validateChain(leafPem: string, intermediatePems: string[], trustedPems: string[], checkDate = new Date()): Promise<ChainResult> {
  if (trustedPems.length === 0) return { valid: false, reason: 'No trusted certificate authorities are enabled' };
  const engine = new pkijs.CertificateChainValidationEngine({
    trustedCerts: trustedPems.map(toPkijs),
    // pkijs takes the last certificate as the one to validate: leaf last.
    certs: [...intermediatePems, leafPem].map(toPkijs),
    checkDate,
  });
  try {
    const result = await engine.verify();
    return result.result ? { valid: true } : { valid: false, reason: result.resultMessage };
  } catch (err) {
    const e = err as { resultMessage?: string; message?: string };
    return { valid: false, reason: e.resultMessage ?? e.message ?? String(err) };
  }
}
