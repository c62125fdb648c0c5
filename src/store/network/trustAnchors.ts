import { ConfigError, type Config } from '../schema.js';
import { editConfig } from '../edit.js';
import { ROOT_ANCHOR_LINES } from './rootAnchors.js';
import { canonicalName } from '../domainMatch.js';

/** A DNSKEY's fields (RFC 4034 §2.1; the protocol is always 3). */
export interface DnskeyData {
  flags: number;
  algorithm: number;
  key: Buffer;
}

/** The DNSKEY's RDATA on the wire: flags, protocol 3, algorithm, public key. */
export function dnskeyRdata(k: DnskeyData): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(k.flags, 0);
  head.writeUInt8(3, 2);
  head.writeUInt8(k.algorithm, 3);
  return Buffer.concat([head, k.key]);
}

/** RFC 4034 Appendix B (algorithm 1's special case is not supported anyway). */
export function keyTag(k: DnskeyData): number {
  const rdata = dnskeyRdata(k);
  let ac = 0;
  for (let i = 0; i < rdata.length; i++) ac += i & 1 ? rdata[i]! : rdata[i]! << 8;
  ac += (ac >> 16) & 0xffff;
  return ac & 0xffff;
}


/**
 * Trust anchors: where validation starts. The IANA root KSKs (KSK-2017, tag 20326, and KSK-2024,
 * tag 38696) are built in as DS records (https://data.iana.org/root-anchors/root-anchors.xml);
 * `dnsconfig trustanchor` adds private roots (and, in tests, the lab's zones) and may delete the
 * built-in ones, so a root rollover needs no code change.
 */
export type TrustAnchor =
  | { zone: string; kind: 'DS'; keyTag: number; algorithm: number; digestType: number; digest: Buffer }
  | { zone: string; kind: 'DNSKEY'; keyTag: number; flags: number; algorithm: number; key: Buffer };



/** A trust anchor in presentation form: "NAME [TTL] [IN] DS TAG ALG DIGESTTYPE HEX" or "NAME [TTL] [IN] DNSKEY FLAGS 3 ALG BASE64". */
export function parseTrustAnchor(text: string): TrustAnchor {
  const words = text.trim().replace(/[()]/g, ' ').split(/\s+/);
  const name = words.shift();
  while (words.length && (/^\d+$/.test(words[0]!) || /^IN$/i.test(words[0]!))) words.shift();
  const type = words.shift()?.toUpperCase();
  const bad = (why: string) => new ConfigError(`"${text.trim().slice(0, 80)}" is not a trust anchor: ${why}`);
  if (!name) throw bad('no owner name');
  if (!/^(\.|([A-Za-z0-9_-]{1,63}\.)*[A-Za-z0-9_-]{1,63}\.?)$/.test(name)) throw bad(`"${name}" is not a domain name`);
  const zone = canonicalName(name);
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

export const ROOT_ANCHORS: TrustAnchor[] = ROOT_ANCHOR_LINES.map((l) => parseTrustAnchor(l));

/** dnsconfig trustanchor add: one more anchor (a DS or DNSKEY line), checked; the same one twice is refused. */
export function addTrustAnchor(config: Config, text: string): Config {
  const anchor = parseTrustAnchor(text);
  if (config.dns.trustAnchors.some((l) => sameAnchor(parseTrustAnchor(l), anchor))) throw new ConfigError(`There is already a trust anchor for ${anchorZone(anchor)} with key tag ${anchor.keyTag}.`);
  return editConfig(config, (draft) => {
    draft.dns.trustAnchors = [...draft.dns.trustAnchors, text.trim().replace(/\s+/g, ' ')];
  });
}

/** dnsconfig trustanchor delete KEYTAG: the anchors with that key tag. */
export function deleteTrustAnchor(config: Config, tag: number): Config {
  const matches = (l: string) => parseTrustAnchor(l).keyTag === tag;
  if (!config.dns.trustAnchors.some(matches)) throw new ConfigError(`There is no trust anchor with key tag ${tag}.`);
  return editConfig(config, (draft) => {
    draft.dns.trustAnchors = draft.dns.trustAnchors.filter((l) => !matches(l));
  });
}

/** dnsconfig validation builtin|resolver. */
export function setValidation(config: Config, mode: 'builtin' | 'resolver'): Config {
  return editConfig(config, (draft) => {
    draft.dns.validation = mode;
  });
}

const sameAnchor = (a: TrustAnchor, b: TrustAnchor) => a.zone === b.zone && a.keyTag === b.keyTag && a.kind === b.kind && a.algorithm === b.algorithm;
