import type { TrustAnchor } from '../../../store/network/trustAnchors.js';
import { algorithmName, type DnskeyData, dsDigest, keyTag, supportedAlgorithm, supportedDigest, verifySignature } from './crypto.js';
import { type Denial, MAX_NSEC3_HASHES, MAX_NSEC3_ITERATIONS, Nsec3Limit, nsec3Denial, nsecDenial, provesWildcardExpansion } from './denial.js';
import { isAtOrBelow, labelsOf, nameWire, type Rr, type RrSet, rrsetsOf, type RrsigData, signedData } from './records.js';
import { canonicalName } from '../../../store/domainMatch.js';

/**
 * A validating stub resolver's judgement (RFC 4035 §5): it asks a recursive resolver with DO and CD
 * set, so it gets the records with their signatures whatever the resolver thinks, and decides
 * itself from its trust anchors: DNSKEYs authenticated by DS from the anchor down the zone cuts,
 * RRSIGs checked for signer, time and signature, denial of existence by NSEC or NSEC3.
 *
 * - secure: every RRset of the answer (or the proof of its absence) chains to an anchor;
 * - insecure: a proven unsigned delegation (or only unsupported algorithms) above it, or no anchor;
 * - bogus: it should be signed and is not, or its signatures or proofs fail;
 * - indeterminate: no usable answer at all (the resolver does not answer).
 *
 * Work per lookup is bounded (KeyTrap, CVE-2023-50387; NSEC3 floods, CVE-2023-50868): past the
 * limits the lookup is bogus, never insecure.
 */
export type Security = 'secure' | 'insecure' | 'bogus' | 'indeterminate';

export interface Validated {
  security: Security;
  rcode: string;
  /** Records of the asked type (after the CNAME chain). */
  records: Rr[];
  /** The owner of those records after the CNAME chain. */
  canonical: string;
  /** Why it is not secure, in words an administrator can act on. */
  reason?: string;
  /** What was checked, step by step (daneverify at debug level). */
  chain: string[];
}

export type Fetch = (name: string, type: string) => Promise<{ rcode: string; answers: Rr[]; authorities: Rr[] }>;

/** Signature checks one lookup may make (unbound and BIND cut KeyTrap off in the same way). */
export const MAX_SIGNATURE_CHECKS = 32;
/** Candidate keys tried for one signature (keys sharing a key tag). */
const MAX_KEYS_PER_SIGNATURE = 4;
/** Signatures tried for one RRset. */
const MAX_SIGNATURES_PER_RRSET = 8;
/** Queries one lookup may make (the zone cuts from the anchor down, and the answer). */
const MAX_QUERIES = 24;
const MAX_CNAME_HOPS = 8;
/** How long a zone's keys (or its insecurity) are kept; a bogus zone is asked again sooner. */
const ZONE_TTL_MS = 5 * 60_000;
const BOGUS_ZONE_TTL_MS = 30_000;
const MAX_ZONES = 10_000;

type ZoneState = { kind: 'secure'; zone: string; keys: DnskeyData[] } | { kind: 'insecure'; zone: string; reason: string } | { kind: 'bogus'; zone: string; reason: string };

interface Budget {
  checks: number;
  hashes: number;
  queries: number;
  chain: string[];
}

class LimitExceeded extends Error {}

const show = (name: string) => (name === '' ? '.' : name);
const isoDate = (serial: number) => new Date(serial * 1000).toISOString().slice(0, 10);
/** RFC 1982 serial arithmetic on 32 bits: is a at or before b? */
const serialLe = (a: number, b: number) => ((b - a) >>> 0) < 0x80000000;

export class Validator {
  private readonly zones = new Map<string, { state: Promise<ZoneState>; expires: number; steps: string[] }>();

  constructor(
    private readonly anchors: TrustAnchor[],
    private readonly fetch: Fetch,
    private readonly clock: () => number = Date.now,
  ) {}

  async lookup(name: string, type: string): Promise<Validated> {
    const budget: Budget = { checks: MAX_SIGNATURE_CHECKS, hashes: MAX_NSEC3_HASHES, queries: MAX_QUERIES, chain: [] };
    const qname = canonicalName(name);
    const result = (security: Security, rcode: string, records: Rr[], canonical: string, reason?: string): Validated => ({ security, rcode, records, canonical, chain: budget.chain, ...(reason ? { reason } : {}) });
    let packet: Awaited<ReturnType<Fetch>>;
    try {
      packet = await this.ask(budget, qname, type);
    } catch (err) {
      return result('indeterminate', 'FAILED', [], qname, `${show(qname)} ${type}: ${(err as Error).message}`);
    }
    if (packet.rcode !== 'NOERROR' && packet.rcode !== 'NXDOMAIN') return result('indeterminate', packet.rcode, [], qname, `${show(qname)} ${type}: the resolver answered ${packet.rcode}`);
    try {
      const sets = rrsetsOf(packet.answers);
      const verdicts: { security: Security; reason?: string }[] = [];
      let owner = qname;
      for (let hop = 0; hop <= MAX_CNAME_HOPS; hop++) {
        const wanted = sets.find((s) => s.name === owner && s.type === type);
        if (wanted) {
          verdicts.push(await this.positive(budget, wanted, packet.authorities));
          const v = weakest(verdicts);
          return result(v.security, packet.rcode, wanted.records, owner, v.reason);
        }
        const cname = type !== 'CNAME' ? sets.find((s) => s.name === owner && s.type === 'CNAME') : undefined;
        if (!cname) break;
        verdicts.push(await this.positive(budget, cname, packet.authorities));
        owner = canonicalName(cname.records[0]!.data as string);
      }
      verdicts.push(await this.negative(budget, owner, type, packet.rcode, packet.authorities));
      const v = weakest(verdicts);
      return result(v.security, packet.rcode, [], owner, v.reason);
    } catch (err) {
      if (err instanceof LimitExceeded || err instanceof Nsec3Limit) return result('bogus', packet.rcode, [], qname, `${show(qname)} ${type}: ${err.message} (a hostile zone?)`);
      // A query on the way (a DS or DNSKEY) got no answer: nothing can be decided.
      return result('indeterminate', packet.rcode, [], qname, `${show(qname)} ${type}: ${(err as Error).message}`);
    }
  }

  /** An RRset of the answer: signed by a zone whose keys chain to an anchor, or in a proven-insecure zone. */
  private async positive(budget: Budget, set: RrSet, authorities: Rr[]): Promise<{ security: Security; reason?: string }> {
    const what = `${show(set.name)} ${set.type}`;
    const signers = [...new Set(set.signatures.map((s) => canonicalName(s.signersName)))].filter((z) => isAtOrBelow(set.name, z));
    if (!signers.length) {
      const zone = await this.zoneOf(budget, set.name);
      if (zone.kind === 'secure') return { security: 'bogus', reason: `${what} has no signature though zone ${show(zone.zone)} is signed (does the resolver strip RRSIGs?)` };
      return zone.kind === 'insecure' ? { security: 'insecure', reason: zone.reason } : { security: 'bogus', reason: zone.reason };
    }
    const zone = await this.zoneOf(budget, signers.sort((a, b) => labelsOf(b).length - labelsOf(a).length)[0]!);
    if (zone.kind !== 'secure') return { security: zone.kind === 'insecure' ? 'insecure' : 'bogus', reason: zone.reason };
    const checked = this.verify(budget, set, zone);
    if (checked !== true) return { security: 'bogus', reason: checked };
    // A wildcard expansion is secure only with proof that the name itself does not exist (RFC 4035 §5.3.4).
    const sig = set.signatures.find((s) => canonicalName(s.signersName) === zone.zone)!;
    if (sig.labels < labelsOf(set.name).length) {
      const proofs = rrsetsOf(authorities).filter((s) => (s.type === 'NSEC' || s.type === 'NSEC3') && isAtOrBelow(s.name, zone.zone) && this.verify(budget, s, zone) === true);
      const proof = provesWildcardExpansion(proofs, zone.zone, set.name, sig.labels, budget);
      if (proof === 'optout') return { security: 'insecure', reason: `${what} is a wildcard expansion under an NSEC3 opt-out span in ${show(zone.zone)}` };
      if (proof === 'iterations') return { security: 'insecure', reason: `${what} is a wildcard expansion proven only by NSEC3 with more than ${MAX_NSEC3_ITERATIONS} iterations (treated as insecure, RFC 9276)` };
      if (!proof) return { security: 'bogus', reason: `${what} is a wildcard expansion without proof that ${show(set.name)} does not exist` };
    }
    return { security: 'secure' };
  }

  /** No records of the type at `owner`: the NXDOMAIN or NODATA must be proven in a secure zone. */
  private async negative(budget: Budget, owner: string, type: string, rcode: string, authorities: Rr[]): Promise<{ security: Security; reason?: string }> {
    const what = `${show(owner)} ${type}`;
    const proofs = rrsetsOf(authorities).filter((s) => (s.type === 'NSEC' || s.type === 'NSEC3') && s.signatures.length);
    const signer = proofs.flatMap((s) => s.signatures.map((x) => canonicalName(x.signersName))).find((z) => isAtOrBelow(owner, z));
    const zone = await this.zoneOf(budget, signer ?? owner);
    if (zone.kind !== 'secure') return { security: zone.kind === 'insecure' ? 'insecure' : 'bogus', reason: zone.reason };
    if (!signer) return { security: 'bogus', reason: `${what}: ${rcode} without NSEC or NSEC3 proof though zone ${show(zone.zone)} is signed (does the resolver strip them?)` };
    const proof = this.denial(budget, zone, authorities, owner, type);
    if (proof.kind === 'insecure') return { security: 'insecure', reason: proof.reason };
    if (proof.kind === 'none') return { security: 'bogus', reason: `${what}: ${rcode} not proven: ${proof.reason}` };
    if (proof.kind === 'optout') return { security: 'insecure', reason: `${what}: covered by an NSEC3 opt-out span in ${show(zone.zone)}` };
    if (rcode === 'NXDOMAIN' && proof.kind !== 'nxdomain') return { security: 'bogus', reason: `${what}: NXDOMAIN, but the NSEC records prove only NODATA` };
    if (rcode === 'NOERROR' && proof.kind === 'nxdomain') return { security: 'bogus', reason: `${what}: NODATA, but the NSEC records prove the name does not exist` };
    budget.chain.push(`${what}: ${proof.kind === 'nxdomain' ? 'NXDOMAIN' : 'NODATA'} proven by ${proofs[0]!.type} in ${show(zone.zone)}`);
    return { security: 'secure' };
  }

  /** The NSEC or NSEC3 records of `zone` in the authority section, verified, and what they prove about NAME TYPE. */
  private denial(budget: Budget, zone: ZoneState & { kind: 'secure' }, authorities: Rr[], name: string, type: string): Denial | { kind: 'insecure'; reason: string } {
    const sets = rrsetsOf(authorities).filter((s) => (s.type === 'NSEC' || s.type === 'NSEC3') && isAtOrBelow(s.name, zone.zone));
    const verified = sets.filter((s) => this.verify(budget, s, zone) === true);
    const nsec = verified.filter((s) => s.type === 'NSEC');
    if (nsec.length) return nsecDenial(nsec, name, type);
    const nsec3 = verified.filter((s) => s.type === 'NSEC3');
    if (!nsec3.length) return { kind: 'none', reason: sets.length ? `the ${sets[0]!.type} records of ${show(zone.zone)} do not verify` : 'no NSEC or NSEC3 records' };
    const iterations = nsec3[0]!.records[0]!.data.iterations as number;
    if (iterations > MAX_NSEC3_ITERATIONS) return { kind: 'insecure', reason: `${show(zone.zone)} uses NSEC3 with ${iterations} iterations (more than ${MAX_NSEC3_ITERATIONS}: treated as insecure, RFC 9276)` };
    return nsec3Denial(nsec3, zone.zone, name, type, budget);
  }

  /**
   * The state of the zone that holds `name`, found from the closest trust anchor down its zone cuts.
   * Kept a while; a kept state replays the steps that established it into this lookup's chain.
   */
  private async zoneOf(budget: Budget, name: string): Promise<ZoneState> {
    const n = canonicalName(name);
    const now = this.clock();
    const memo = this.zones.get(n);
    if (memo && memo.expires > now) {
      const state = await memo.state;
      budget.chain.push(...memo.steps);
      return state;
    }
    if (this.zones.size > MAX_ZONES) this.zones.clear();
    const start = budget.chain.length;
    const entry = { state: this.findZone(budget, n), expires: now + ZONE_TTL_MS, steps: [] as string[] };
    this.zones.set(n, entry);
    try {
      const state = await entry.state;
      entry.steps = budget.chain.slice(start);
      if (state.kind === 'bogus') entry.expires = this.clock() + BOGUS_ZONE_TTL_MS;
      return state;
    } catch (err) {
      this.zones.delete(n);
      throw err;
    }
  }

  private async findZone(budget: Budget, name: string): Promise<ZoneState> {
    const anchored = this.anchors.filter((a) => isAtOrBelow(name, a.zone));
    if (!anchored.length) return { kind: 'insecure', zone: name, reason: `no trust anchor covers ${show(name)}` };
    const closest = anchored.map((a) => a.zone).sort((a, b) => labelsOf(b).length - labelsOf(a).length)[0]!;
    if (name === closest) {
      return this.keysOf(budget, name, this.anchors.filter((a) => a.zone === closest), 'trust anchor');
    }
    const parent = await this.zoneOf(budget, labelsOf(name).slice(1).join('.'));
    if (parent.kind !== 'secure') return parent;
    const reply = await this.ask(budget, name, 'DS');
    const ds = rrsetsOf(reply.answers).find((s) => s.name === name && s.type === 'DS');
    if (ds) {
      const checked = this.verify(budget, ds, parent);
      if (checked !== true) return { kind: 'bogus', zone: name, reason: checked };
      return this.keysOf(
        budget,
        name,
        ds.records.map((r) => ({ zone: name, kind: 'DS' as const, ...(r.data as { keyTag: number; algorithm: number; digestType: number; digest: Buffer }) })),
        `DS in ${show(parent.zone)}`,
      );
    }
    if (reply.rcode !== 'NOERROR' && reply.rcode !== 'NXDOMAIN') return { kind: 'bogus', zone: name, reason: `DS ${show(name)}: the resolver answered ${reply.rcode}` };
    if (rrsetsOf(reply.answers).some((s) => s.name === name && s.type === 'CNAME')) return parent; // an alias is no zone cut
    const proof = this.denial(budget, parent, reply.authorities, name, 'DS');
    switch (proof.kind) {
      case 'insecure':
        return { kind: 'insecure', zone: name, reason: proof.reason };
      case 'optout':
        return { kind: 'insecure', zone: name, reason: `${show(name)} may be an unsigned delegation (NSEC3 opt-out in ${show(parent.zone)})` };
      case 'nodata':
        if (!proof.delegation) return parent; // not a zone cut
        budget.chain.push(`${show(name)}: delegated from ${show(parent.zone)} without DS (insecure)`);
        return { kind: 'insecure', zone: name, reason: `${show(name)} is an unsigned delegation from ${show(parent.zone)} (no DS)` };
      case 'nxdomain':
        return parent;
      default:
        if (![...reply.answers, ...reply.authorities].some((r) => r.type === 'RRSIG')) return { kind: 'bogus', zone: name, reason: `DS ${show(name)}: an answer without any signature though ${show(parent.zone)} is signed (does the resolver strip RRSIGs?)` };
        return { kind: 'bogus', zone: name, reason: `no proof that ${show(name)} has no DS in ${show(parent.zone)}: ${proof.reason}` };
    }
  }

  /** The zone's DNSKEY RRset, authenticated by one of the anchors or DS records given. */
  private async keysOf(budget: Budget, zone: string, anchors: TrustAnchor[], from: string): Promise<ZoneState> {
    const usable = anchors.filter((a) => supportedAlgorithm(a.algorithm) && (a.kind === 'DNSKEY' || supportedDigest(a.digestType)));
    if (!usable.length) {
      const algs = [...new Set(anchors.map((a) => (a.kind === 'DS' && !supportedDigest(a.digestType) ? `digest type ${a.digestType}` : algorithmName(a.algorithm))))].join(', ');
      return { kind: 'insecure', zone, reason: `${show(zone)} is signed only with ${algs}, which this validator does not support (treated as insecure, RFC 4035 §5.2)` };
    }
    const reply = await this.ask(budget, zone, 'DNSKEY');
    const set = rrsetsOf(reply.answers).find((s) => s.name === zone && s.type === 'DNSKEY');
    if (!set) return { kind: 'bogus', zone, reason: `${show(zone)} has no DNSKEY records, though its ${from} says it is signed` };
    const keys = set.records.map((r) => r.data as DnskeyData);
    const owner = nameWire(zone);
    const trusted = keys.filter((k) =>
      usable.some((a) => a.keyTag === keyTag(k) && a.algorithm === k.algorithm && (a.kind === 'DNSKEY' ? a.key.equals(k.key) && a.flags === k.flags : dsDigest(owner, k, a.digestType)?.equals(a.digest))),
    );
    if (!trusted.length) return { kind: 'bogus', zone, reason: `the ${from} for ${show(zone)} does not match any DNSKEY (tags ${usable.map((a) => a.keyTag).join(', ')} expected, ${keys.map(keyTag).join(', ')} published)` };
    const checked = this.verify(budget, set, { kind: 'secure', zone, keys: trusted });
    if (checked !== true) return { kind: 'bogus', zone, reason: checked };
    budget.chain.push(`${show(zone)} DNSKEY: key ${trusted.map(keyTag).join(', ')} matches its ${from}`);
    return { kind: 'secure', zone, keys: keys.filter((k) => k.flags & 0x0100) };
  }

  /** true, or why no signature of `set` by `zone`'s keys is valid now. */
  private verify(budget: Budget, set: RrSet, zone: ZoneState & { kind: 'secure' }): true | string {
    const what = `${show(set.name)} ${set.type}`;
    const now = Math.floor(this.clock() / 1000) >>> 0;
    const sigs = set.signatures.filter((s) => canonicalName(s.signersName) === zone.zone).slice(0, MAX_SIGNATURES_PER_RRSET);
    if (!sigs.length) return `${what} is not signed by ${show(zone.zone)}`;
    const problems: string[] = [];
    for (const sig of sigs) {
      const problem = this.checkOne(budget, set, sig, zone, now);
      if (problem === true) {
        budget.chain.push(`${what}: RRSIG by ${show(zone.zone)} key ${sig.keyTag} (${algorithmName(sig.algorithm)}) valid until ${isoDate(sig.expiration)}`);
        return true;
      }
      problems.push(problem);
    }
    return problems[0]!;
  }

  private checkOne(budget: Budget, set: RrSet, sig: RrsigData, zone: ZoneState & { kind: 'secure' }, now: number): true | string {
    const what = `RRSIG for ${show(set.name)} ${set.type}`;
    if (!supportedAlgorithm(sig.algorithm)) return `${what} uses ${algorithmName(sig.algorithm)}, which this validator does not support`;
    if (sig.labels > labelsOf(set.name).length) return `${what} has a labels field larger than its owner name`;
    if (!serialLe(sig.inception, now)) return `${what} is not valid before ${isoDate(sig.inception)}`;
    if (!serialLe(now, sig.expiration)) return `${what} expired ${isoDate(sig.expiration)}`;
    const keys = zone.keys.filter((k) => keyTag(k) === sig.keyTag && k.algorithm === sig.algorithm).slice(0, MAX_KEYS_PER_SIGNATURE);
    if (!keys.length) return `${what} names key ${sig.keyTag}, which is not a DNSKEY of ${show(zone.zone)}`;
    let data: Buffer;
    try {
      data = signedData(set, sig);
    } catch (err) {
      return `${what}: ${(err as Error).message}`;
    }
    for (const k of keys) {
      if (--budget.checks < 0) throw new LimitExceeded(`more than ${MAX_SIGNATURE_CHECKS} signature checks for one lookup`);
      if (verifySignature(k, data, sig.signature)) return true;
    }
    return `${what} does not verify with key ${sig.keyTag} of ${show(zone.zone)}`;
  }

  private async ask(budget: Budget, name: string, type: string): Promise<Awaited<ReturnType<Fetch>>> {
    if (--budget.queries < 0) throw new LimitExceeded(`more than ${MAX_QUERIES} queries for one lookup`);
    return this.fetch(name === '' ? '.' : name, type);
  }
}

/** The weakest of several verdicts: bogus over indeterminate over insecure over secure. */
function weakest(verdicts: { security: Security; reason?: string }[]): { security: Security; reason?: string } {
  const order: Security[] = ['bogus', 'indeterminate', 'insecure', 'secure'];
  return [...verdicts].sort((a, b) => order.indexOf(a.security) - order.indexOf(b.security))[0] ?? { security: 'bogus', reason: 'no answer' };
}
