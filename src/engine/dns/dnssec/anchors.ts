import { keyTag } from './crypto.js';
import { normalName } from './records.js';

/**
 * Trust anchors: where validation starts. The IANA root KSKs (KSK-2017, tag 20326, and KSK-2024,
 * tag 38696) are built in as DS records (https://data.iana.org/root-anchors/root-anchors.xml);
 * `dnsconfig trustanchor` adds private roots (and, in tests, the lab's zones) and may delete the
 * built-in ones, so a root rollover needs no code change.
 */
export type TrustAnchor =
  | { zone: string; kind: 'DS'; keyTag: number; algorithm: number; digestType: number; digest: Buffer }
  | { zone: string; kind: 'DNSKEY'; keyTag: number; flags: number; algorithm: number; key: Buffer };

export const ROOT_ANCHORS: TrustAnchor[] = [
  { zone: '', kind: 'DS', keyTag: 20326, algorithm: 8, digestType: 2, digest: Buffer.from('E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D', 'hex') },
  { zone: '', kind: 'DS', keyTag: 38696, algorithm: 8, digestType: 2, digest: Buffer.from('683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16', 'hex') },
];

/** A trust anchor in presentation form: "NAME [TTL] [IN] DS TAG ALG DIGESTTYPE HEX" or "NAME [TTL] [IN] DNSKEY FLAGS 3 ALG BASE64". */
export function parseTrustAnchor(text: string): TrustAnchor {
  const words = text.trim().replace(/[()]/g, ' ').split(/\s+/);
  const name = words.shift();
  while (words.length && (/^\d+$/.test(words[0]!) || /^IN$/i.test(words[0]!))) words.shift();
  const type = words.shift()?.toUpperCase();
  const bad = (why: string) => new Error(`"${text.trim().slice(0, 80)}" is not a trust anchor: ${why}`);
  if (!name) throw bad('no owner name');
  const zone = normalName(name);
  if (type === 'DS') {
    const [tag, alg, digestType, ...hex] = words;
    const digest = hex.join('');
    if (![tag, alg, digestType].every((w) => w !== undefined && /^\d+$/.test(w)) || !/^[0-9a-f]+$/i.test(digest) || digest.length % 2) throw bad('a DS record is TAG ALGORITHM DIGEST-TYPE HEX');
    return { zone, kind: 'DS', keyTag: Number(tag), algorithm: Number(alg), digestType: Number(digestType), digest: Buffer.from(digest, 'hex') };
  }
  if (type === 'DNSKEY') {
    const [flags, protocol, alg, ...b64] = words;
    const key = Buffer.from(b64.join(''), 'base64');
    if (![flags, protocol, alg].every((w) => w !== undefined && /^\d+$/.test(w)) || protocol !== '3' || !key.length) throw bad('a DNSKEY record is FLAGS 3 ALGORITHM BASE64');
    const k = { flags: Number(flags), algorithm: Number(alg), key };
    return { zone, kind: 'DNSKEY', keyTag: keyTag(k), ...k };
  }
  throw bad('give a DS or a DNSKEY record');
}

/** The anchor's zone as shown: "." for the root. */
export const anchorZone = (a: TrustAnchor): string => (a.zone === '' ? '.' : `${a.zone}.`);
