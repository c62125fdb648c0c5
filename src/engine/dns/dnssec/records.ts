import { createRequire } from 'node:module';
import dnsPacket from 'dns-packet';
import { canonicalName } from '../../../store/domainMatch.js';

/**
 * Resource records as DNSSEC sees them: names in canonical form and order (RFC 4034 §6), RDATA in
 * canonical wire form, RRsets and the signatures that cover them.
 */

/** A record as dns-packet decodes it (the class is IN for everything the engine asks). */
export interface Rr {
  name: string;
  type: string;
  ttl?: number;
  class?: string;
  /** dns-packet's decoded RDATA, which differs by type. */
  data: any;
}

export interface RrsigData {
  typeCovered: string;
  algorithm: number;
  labels: number;
  originalTTL: number;
  expiration: number;
  inception: number;
  keyTag: number;
  signersName: string;
  signature: Buffer;
}


export const labelsOf = (name: string): string[] => (canonicalName(name) === '' ? [] : canonicalName(name).split('.'));

/** The name in canonical wire form (lowercase, uncompressed). */
export function nameWire(name: string): Buffer {
  const parts = labelsOf(name).map((l) => {
    const b = Buffer.from(l, 'utf8');
    if (b.length > 63) throw new Error(`label too long in ${name}`);
    return Buffer.concat([Buffer.from([b.length]), b]);
  });
  return Buffer.concat([...parts, Buffer.from([0])]);
}

/** A 16-bit big-endian field, as DNS messages carry counts, types, classes and lengths. */
export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** Is `name` `zone` or below it? */
export function isAtOrBelow(name: string, zone: string): boolean {
  const n = canonicalName(name);
  const z = canonicalName(zone);
  return z === '' || n === z || n.endsWith(`.${z}`);
}

/** RFC 4034 §6.1: labels compared from the right, lowercase, as octet strings. */
export function canonicalCompare(a: string, b: string): number {
  const la = labelsOf(a).reverse();
  const lb = labelsOf(b).reverse();
  for (let i = 0; i < Math.min(la.length, lb.length); i++) {
    const c = Buffer.compare(Buffer.from(la[i]!, 'utf8'), Buffer.from(lb[i]!, 'utf8'));
    if (c !== 0) return c;
  }
  return la.length - lb.length;
}

/** Types whose RDATA names are lowercased in canonical form (RFC 4034 §6.2, less NSEC per RFC 6840 §5.1). */
const LOWERCASE_NAMES: Record<string, (d: Record<string, unknown>) => Record<string, unknown>> = {
  NS: (d) => d,
  CNAME: (d) => d,
  DNAME: (d) => d,
  PTR: (d) => d,
  MX: (d) => ({ ...d, exchange: canonicalName(String(d.exchange)) }),
  SOA: (d) => ({ ...d, mname: canonicalName(String(d.mname)), rname: canonicalName(String(d.rname)) }),
  SRV: (d) => ({ ...d, target: canonicalName(String(d.target)) }),
  RRSIG: (d) => ({ ...d, signersName: canonicalName(String(d.signersName)) }),
};

/** The record's RDATA in canonical wire form (without its length). */
export function canonicalRdata(rr: Rr): Buffer {
  let data = rr.data;
  const lower = LOWERCASE_NAMES[rr.type];
  if (lower) data = typeof data === 'string' ? canonicalName(data) : lower(data);
  const codec = (dnsPacket as unknown as { record(type: string): { encode(d: unknown): Buffer } }).record(rr.type);
  return codec.encode(data).subarray(2);
}

/** dns-packet's type table ("UNKNOWN_65534" for types it has no name for). */
const types = createRequire(import.meta.url)('dns-packet/types') as { toType(name: string): number };
export const typeNumber = (type: string): number => types.toType(type);

/** An RRset: one owner, one type. */
export interface RrSet {
  name: string;
  type: string;
  records: Rr[];
  signatures: RrsigData[];
}

/** The RRsets of a section, each with the RRSIGs that cover it. */
export function rrsetsOf(section: Rr[]): RrSet[] {
  const sets = new Map<string, RrSet>();
  const key = (name: string, type: string) => `${canonicalName(name)}|${type}`;
  for (const rr of section) {
    if (rr.type === 'RRSIG' || rr.type === 'OPT') continue;
    const k = key(rr.name, rr.type);
    const set = sets.get(k) ?? { name: canonicalName(rr.name), type: rr.type, records: [], signatures: [] };
    set.records.push(rr);
    sets.set(k, set);
  }
  for (const rr of section) {
    if (rr.type !== 'RRSIG') continue;
    const sig = rr.data as RrsigData;
    sets.get(key(rr.name, sig.typeCovered))?.signatures.push(sig);
  }
  return [...sets.values()];
}

/**
 * What an RRSIG signs (RFC 4034 §3.1.8.1): its RDATA without the signature, then each record in
 * canonical form and order, with the original TTL, duplicates once; a wildcard expansion signed as
 * its wildcard owner (the labels field).
 */
export function signedData(set: RrSet, sig: RrsigData): Buffer {
  const head = Buffer.alloc(18);
  head.writeUInt16BE(typeNumber(sig.typeCovered), 0);
  head.writeUInt8(sig.algorithm, 2);
  head.writeUInt8(sig.labels, 3);
  head.writeUInt32BE(sig.originalTTL, 4);
  head.writeUInt32BE(sig.expiration, 8);
  head.writeUInt32BE(sig.inception, 12);
  head.writeUInt16BE(sig.keyTag, 16);
  const labels = labelsOf(set.name);
  const owner = sig.labels < labels.length ? ['*', ...labels.slice(labels.length - sig.labels)].join('.') : set.name;
  const ownerWire = nameWire(owner);
  const fixed = Buffer.alloc(8);
  fixed.writeUInt16BE(typeNumber(set.type), 0);
  fixed.writeUInt16BE(1, 2); // IN
  fixed.writeUInt32BE(sig.originalTTL, 4);
  const rdatas = [...new Map(set.records.map((r) => canonicalRdata(r)).map((b) => [b.toString('hex'), b])).values()].sort(Buffer.compare);
  const parts: Buffer[] = [head, nameWire(sig.signersName)];
  for (const rdata of rdatas) {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(rdata.length, 0);
    parts.push(ownerWire, fixed, len, rdata);
  }
  return Buffer.concat(parts);
}
