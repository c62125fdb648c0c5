import { createHash } from 'node:crypto';
import { canonicalCompare, isAtOrBelow, labelsOf, nameWire, type RrSet } from './records.js';
import { canonicalName } from '../../../store/domainMatch.js';

/**
 * Proofs of denial of existence from verified NSEC (RFC 4035 §5.4) and NSEC3 (RFC 5155 §8) records:
 * what they prove about a name and a type. The caller has verified every RRset it passes.
 */

/** What the records prove about NAME TYPE. */
export type Denial =
  /** the name exists, the type does not (NODATA); `delegation`: the name is a zone cut without DS */
  | { kind: 'nodata'; delegation: boolean }
  /** the name does not exist (NXDOMAIN) */
  | { kind: 'nxdomain' }
  /** NSEC3 opt-out: an unsigned delegation may exist at or above the name (insecure) */
  | { kind: 'optout' }
  /** nothing proven; why */
  | { kind: 'none'; reason: string };

/** NSEC3 with more iterations than this proves nothing: the zone is treated as insecure (RFC 9276 §3.2). */
export const MAX_NSEC3_ITERATIONS = 150;
/** NSEC3 hashes one lookup may compute (CVE-2023-50868: a flood of NSEC3 records with many iterations). */
export const MAX_NSEC3_HASHES = 64;

const hasType = (set: RrSet, type: string) => (set.records[0]!.data.rrtypes as string[]).includes(type);

/** Does the NSEC at `owner` with next name `next` cover `name` (owner < name < next, wrapping at the apex)? */
function nsecCovers(owner: string, next: string, name: string): boolean {
  const afterOwner = canonicalCompare(owner, name) < 0;
  const beforeNext = canonicalCompare(name, next) < 0;
  // The last NSEC of a zone points back to the apex: it covers every name after its owner.
  return canonicalCompare(owner, next) < 0 ? afterOwner && beforeNext : afterOwner || beforeNext;
}

/** The longest name that is an ancestor of (or equal to) both. */
function commonAncestor(a: string, b: string): string {
  const la = labelsOf(a).reverse();
  const lb = labelsOf(b).reverse();
  const out: string[] = [];
  for (let i = 0; i < Math.min(la.length, lb.length) && la[i] === lb[i]; i++) out.push(la[i]!);
  return out.reverse().join('.');
}

export function nsecDenial(nsecs: RrSet[], name: string, type: string): Denial {
  const n = canonicalName(name);
  const match = nsecs.find((s) => s.name === n);
  if (match) {
    if (hasType(match, type) || hasType(match, 'CNAME')) return { kind: 'none', reason: `the NSEC record at ${n} lists ${type}` };
    // At a delegation point, an NSEC from the parent has NS but not SOA (RFC 4035 §5.2).
    return { kind: 'nodata', delegation: hasType(match, 'NS') && !hasType(match, 'SOA') };
  }
  const covering = nsecs.find((s) => nsecCovers(s.name, canonicalName(s.records[0]!.data.nextDomain), n));
  if (!covering) return { kind: 'none', reason: `no NSEC record matches or covers ${n}` };
  // An empty non-terminal exists: the next name is below it (NODATA, RFC 4035 §3.1.3.2).
  if (isAtOrBelow(canonicalName(covering.records[0]!.data.nextDomain), n)) return { kind: 'nodata', delegation: false };
  // NXDOMAIN: no wildcard at the closest encloser either (RFC 4035 §5.4).
  const encloser = [commonAncestor(covering.name, n), commonAncestor(canonicalName(covering.records[0]!.data.nextDomain), n)].sort((a, b) => labelsOf(b).length - labelsOf(a).length)[0]!;
  const wildcard = encloser ? `*.${encloser}` : '*';
  const wild = nsecs.find((s) => s.name === wildcard);
  if (wild && !hasType(wild, type) && !hasType(wild, 'CNAME')) return { kind: 'nodata', delegation: false }; // wildcard NODATA
  if (!nsecs.some((s) => nsecCovers(s.name, canonicalName(s.records[0]!.data.nextDomain), wildcard))) return { kind: 'none', reason: `no NSEC record covers the wildcard ${wildcard}` };
  return { kind: 'nxdomain' };
}

/** RFC 5155 §5: the iterated, salted SHA-1 of the name, base32hex (the owner label of its NSEC3). */
export function nsec3Hash(name: string, salt: Buffer, iterations: number): string {
  let h = createHash('sha1').update(nameWire(name)).update(salt).digest();
  for (let i = 0; i < iterations; i++) h = createHash('sha1').update(h).update(salt).digest();
  return base32hex(h);
}

function base32hex(b: Buffer): string {
  const alphabet = '0123456789abcdefghijklmnopqrstuv';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of b) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

/**
 * NSEC3 proofs for NAME TYPE in `zone`. Only NSEC3 RRsets of the zone with one hash algorithm (1),
 * iteration count and salt take part; more than MAX_NSEC3_ITERATIONS is 'insecure' for the caller.
 */
export function nsec3Denial(nsec3s: RrSet[], zone: string, name: string, type: string, budget: { hashes: number }): Denial {
  const n = canonicalName(name);
  const params = nsec3s[0]?.records[0]?.data as Nsec3Params | undefined;
  if (!params) return { kind: 'none', reason: 'no NSEC3 records' };
  const usable = usableNsec3(nsec3s, zone, params);
  const matching = (x: string) => {
    const h = budgetedHash(x, params, budget);
    return usable.find((s) => labelsOf(s.name)[0] === h);
  };
  const covering = (x: string) => {
    const h = budgetedHash(x, params, budget);
    return usable.find((s) => nsec3Covers(s, h));
  };
  const exact = matching(n);
  if (exact) {
    if (hasType(exact, type) || hasType(exact, 'CNAME')) return { kind: 'none', reason: `the NSEC3 record for ${n} lists ${type}` };
    return { kind: 'nodata', delegation: hasType(exact, 'NS') && !hasType(exact, 'SOA') };
  }
  // Closest encloser proof (§8.3): the longest existing ancestor, whose child towards the name does not exist.
  const labels = labelsOf(n);
  for (let i = 1; i <= labels.length - labelsOf(zone).length; i++) {
    const encloser = labels.slice(i).join('.');
    if (!matching(encloser)) continue;
    const nextCloser = labels.slice(i - 1).join('.');
    const cover = covering(nextCloser);
    if (!cover) return { kind: 'none', reason: `no NSEC3 record covers ${nextCloser}` };
    if (cover.records[0]!.data.flags & 1) return { kind: 'optout' };
    const wildcard = encloser ? `*.${encloser}` : '*';
    const wild = matching(wildcard);
    if (wild) return hasType(wild, type) || hasType(wild, 'CNAME') ? { kind: 'none', reason: `the wildcard ${wildcard} has ${type}` } : { kind: 'nodata', delegation: false };
    if (!covering(wildcard)) return { kind: 'none', reason: `no NSEC3 record covers the wildcard ${wildcard}` };
    return { kind: 'nxdomain' };
  }
  return { kind: 'none', reason: `no NSEC3 record proves a closest encloser of ${n}` };
}

/**
 * A wildcard expansion: the records prove that `name` itself does not exist (RFC 4035 §5.3.4,
 * RFC 5155 §8.8): an NSEC covers it, or an NSEC3 covers the next closer name, which is one label
 * longer than the wildcard's closest encloser (the RRSIG's labels).
 */
export function provesWildcardExpansion(sets: RrSet[], zone: string, name: string, signatureLabels: number, budget: { hashes: number }): 'proven' | 'optout' | 'iterations' | false {
  const n = canonicalName(name);
  const nsecs = sets.filter((s) => s.type === 'NSEC');
  if (nsecs.length) return nsecs.some((s) => nsecCovers(s.name, canonicalName(s.records[0]!.data.nextDomain), n)) && 'proven';
  const nsec3s = sets.filter((s) => s.type === 'NSEC3');
  const params = nsec3s[0]?.records[0]?.data as Nsec3Params | undefined;
  if (!params) return false;
  if (params.iterations > MAX_NSEC3_ITERATIONS) return 'iterations';
  const labels = labelsOf(n);
  const nextCloser = labels.slice(labels.length - signatureLabels - 1).join('.');
  const h = budgetedHash(nextCloser, params, budget);
  const cover = usableNsec3(nsec3s, zone, params).find((s) => nsec3Covers(s, h));
  // Under an opt-out span an unsigned delegation may hold the name: insecure, as unbound and BIND judge it.
  return cover ? (cover.records[0]!.data.flags & 1 ? 'optout' : 'proven') : false;
}

interface Nsec3Params {
  iterations: number;
  salt: Buffer;
}

/** The zone's NSEC3 records that take part: SHA-1 (algorithm 1), the same iterations and salt, owners one label below the apex. */
function usableNsec3(nsec3s: RrSet[], zone: string, params: Nsec3Params): RrSet[] {
  return nsec3s.filter((s) => {
    const d = s.records[0]!.data;
    return d.algorithm === 1 && d.iterations === params.iterations && Buffer.compare(d.salt, params.salt) === 0 && labelsOf(s.name).length === labelsOf(zone).length + 1 && isAtOrBelow(s.name, zone);
  });
}

/** `name`'s NSEC3 hash, counted against the lookup's budget. */
function budgetedHash(name: string, params: Nsec3Params, budget: { hashes: number }): string {
  if (--budget.hashes < 0) throw new Nsec3Limit(`more than ${MAX_NSEC3_HASHES} NSEC3 hashes for one lookup`);
  return nsec3Hash(name, params.salt, params.iterations);
}

/** Does the NSEC3 record's span, from its owner's hash to its next hash (wrapping at the end), cover hash `h`? */
function nsec3Covers(s: RrSet, h: string): boolean {
  const owner = labelsOf(s.name)[0]!;
  const next = base32hex(s.records[0]!.data.nextDomain as Buffer);
  return owner < next ? owner < h && h < next : owner < h || h < next;
}

export class Nsec3Limit extends Error {
  override name = 'Nsec3Limit';
}
