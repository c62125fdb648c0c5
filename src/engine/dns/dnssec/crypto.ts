import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import { type DnskeyData, dnskeyRdata, keyTag } from '../../../store/network/trustAnchors.js';
import { BoundedMap } from '../../boundedMap.js';

/**
 * The cryptography of DNSSEC over node:crypto: key tags (RFC 4034 App. B), DS digests (RFC 4034
 * §5.1.4, RFC 4509, RFC 6605) and signatures of the algorithms a validator supports today
 * (RFC 8624 §3.1, validation column, less the SHA-1 algorithms 5 and 7, which RFC 9905 retires:
 * a zone signed only with them is insecure, as on current unbound and BIND builds).
 */

/** Signature algorithms: number → how node:crypto verifies it. */
const ALGORITHMS: Record<number, { name: string; hash: string | null }> = {
  8: { name: 'RSASHA256', hash: 'sha256' },
  10: { name: 'RSASHA512', hash: 'sha512' },
  13: { name: 'ECDSAP256SHA256', hash: 'sha256' },
  14: { name: 'ECDSAP384SHA384', hash: 'sha384' },
  15: { name: 'ED25519', hash: null },
  16: { name: 'ED448', hash: null },
};

/** DS digest types a validator uses (RFC 8624 §3.3, validation column): SHA-1, SHA-256, SHA-384. */
const DIGESTS: Record<number, string> = { 1: 'sha1', 2: 'sha256', 4: 'sha384' };

export const supportedAlgorithm = (alg: number): boolean => alg in ALGORITHMS;
export const supportedDigest = (type: number): boolean => type in DIGESTS;
export const algorithmName = (alg: number): string => ALGORITHMS[alg]?.name ?? `algorithm ${alg}`;

export type { DnskeyData };
export { keyTag };

/** The digest a DS record for this key holds: digest(owner name in canonical wire form | DNSKEY RDATA). */
export function dsDigest(ownerWire: Buffer, k: DnskeyData, digestType: number): Buffer | undefined {
  const hash = DIGESTS[digestType];
  return hash ? createHash(hash).update(ownerWire).update(dnskeyRdata(k)).digest() : undefined;
}

const b64u = (b: Buffer) => b.toString('base64url');

/** The DNSKEY's public key as node:crypto's key object; throws on a malformed key. */
export function publicKey(k: DnskeyData): KeyObject {
  const key = k.key;
  switch (k.algorithm) {
    case 8:
    case 10: {
      // RFC 3110: exponent length in one octet, or zero and two octets; exponent; modulus.
      let at = 1;
      let expLen = key[0] ?? 0;
      if (expLen === 0) {
        expLen = key.readUInt16BE(1);
        at = 3;
      }
      const e = key.subarray(at, at + expLen);
      const n = key.subarray(at + expLen);
      if (!e.length || n.length < 64) throw new Error('malformed RSA key');
      return createPublicKey({ format: 'jwk', key: { kty: 'RSA', n: b64u(n), e: b64u(e) } });
    }
    case 13:
    case 14: {
      const size = k.algorithm === 13 ? 32 : 48;
      if (key.length !== size * 2) throw new Error('malformed ECDSA key');
      return createPublicKey({ format: 'jwk', key: { kty: 'EC', crv: k.algorithm === 13 ? 'P-256' : 'P-384', x: b64u(key.subarray(0, size)), y: b64u(key.subarray(size)) } });
    }
    case 15:
    case 16:
      if (key.length !== (k.algorithm === 15 ? 32 : 57)) throw new Error('malformed EdDSA key');
      return createPublicKey({ format: 'jwk', key: { kty: 'OKP', crv: k.algorithm === 15 ? 'Ed25519' : 'Ed448', x: b64u(key) } });
    default:
      throw new Error(`${algorithmName(k.algorithm)} is not supported`);
  }
}

/**
 * Signatures that verified, by algorithm, key, signature and SHA-256 of the signed data: a cached
 * answer is validated again at every lookup (its validity period may have ended), and this spares the
 * public-key operation, which is most of that cost. Only successes are kept; bounded, oldest out first.
 */
const verified = new BoundedMap<string, true>(4096);

/** Does `signature` by key `k` sign `data`? False (never a throw) for a malformed key or signature. */
export function verifySignature(k: DnskeyData, data: Buffer, signature: Buffer): boolean {
  const alg = ALGORITHMS[k.algorithm];
  if (!alg) return false;
  const memo = `${k.algorithm} ${k.key.toString('base64')} ${signature.toString('base64')} ${createHash('sha256').update(data).digest('base64')}`;
  if (verified.has(memo)) return true;
  try {
    const key = publicKey(k);
    const ecdsa = k.algorithm === 13 || k.algorithm === 14;
    if (!verify(alg.hash, data, ecdsa ? { key, dsaEncoding: 'ieee-p1363' } : key, signature)) return false;
  } catch {
    return false;
  }
  verified.set(memo, true);
  return true;
}
