import net from 'node:net';
import type { DaneMode } from '../../../store/destinations/destinations.js';
import type { DnsLookup } from '../../dns/client.js';
import { type Tlsa, tlsaText, usable, verifyDane } from '../../tls/dane.js';
import { recordTypeOf, type Target } from '../route.js';
import { type ReportedPolicy, sessionFailureType, type TlsReportSink } from '../../tlsrpt/results.js';
import type { DaneRequirement, Demand, HostResult, MxTarget, TlsPolicy } from './chain.js';

/** What DANE found for one host, before any connection (RFC 7672 §2.2). */
export type DaneHostState =
  /** No DANE for this host: the destination's TLS setting applies (Opportunistic). */
  | { kind: 'none'; why: string }
  /** The host must not be used: a lookup failed (bogus), never read as "no DANE". */
  | { kind: 'bogus'; why: string }
  /** Secure TLSA records exist but none is usable: TLS required, unauthenticated. */
  | { kind: 'unusable'; owner: string; records: Tlsa[] }
  | { kind: 'dane'; requirement: DaneRequirement };

export type TlsaLookup = (owner: string) => Promise<DnsLookup>;

function tlsaRecords(lookup: DnsLookup): Tlsa[] {
  return lookup.records.map((r) => {
    const d = (r as unknown as { data: { usage: number; selector: number; matchingType: number; certificate: Buffer } }).data;
    return { usage: d.usage, selector: d.selector, matchingType: d.matchingType, data: Buffer.from(d.certificate) };
  });
}

/**
 * The DANE state of one host: MX RRset secure, the host's address RRset secure, then the TLSA
 * RRset `_port._tcp.<host>`. When the address lookup went through a secure CNAME chain, the
 * expanded name is tried first and the original name only after a secure denial (RFC 7672 §2.2.2).
 */
export async function daneHostState(target: Target, domain: string, lookupTlsa: TlsaLookup): Promise<DaneHostState> {
  const { mx, address, canonical } = target.dnssec;
  if (mx === 'bogus') return { kind: 'bogus', why: `the MX lookup for ${domain} failed validation (BOGUS)` };
  if (mx === 'insecure') return { kind: 'none', why: `INSECURE MX record(${target.mxHost}) found for ${domain}` };
  if (net.isIP(target.mxHost)) return { kind: 'none', why: `${target.mxHost} is an address: there is no host name for a TLSA record` };
  if (address === 'bogus') return { kind: 'bogus', why: `the address lookup for ${target.mxHost} failed validation (BOGUS)` };
  if (address === 'insecure') return { kind: 'none', why: `INSECURE ${recordTypeOf(target.host)} record (${target.host}) found for MX(${target.mxHost}) in ${domain}` };
  const mxHost = target.mxHost.toLowerCase().replace(/\.$/, '');
  const bases = canonical && canonical !== mxHost ? [canonical, mxHost] : [mxHost];
  for (const base of bases) {
    const owner = `_${target.port}._tcp.${base}`;
    const answer = await lookupTlsa(owner);
    if (answer.security === 'bogus') return { kind: 'bogus', why: `BOGUS TLSA record for MX(${target.mxHost}) in ${domain}: ${answer.reason ?? answer.rcode}` };
    if (answer.security === 'insecure') return { kind: 'none', why: `INSECURE TLSA record for MX(${target.mxHost}) in ${domain}` };
    const records = tlsaRecords(answer);
    if (records.length === 0) continue; // secure NXDOMAIN / NODATA: the next base, else no DANE
    const good = records.filter(usable);
    if (good.length === 0) return { kind: 'unusable', owner, records };
    const names = [...new Set([base, mxHost, domain.toLowerCase()])];
    return { kind: 'dane', requirement: { base, owner, records: good, names } };
  }
  return { kind: 'none', why: `no TLSA record (secure denial) for MX(${target.mxHost}) in ${domain}` };
}

/** The per-host answer of the DANE policy for a mode; null when DANE has nothing to say. */
export function daneDemand(mode: DaneMode, state: DaneHostState, mxHost: string): Demand | null {
  switch (state.kind) {
    case 'dane':
      return {
        attempt: true,
        mustEncrypt: true,
        verify: 'must',
        dane: state.requirement,
        note: `SECURE TLSA record found for MX(${mxHost}): ${state.requirement.records.map(tlsaText).join(', ')}; DANE authentication required`,
      };
    case 'unusable':
      return mode === 'mandatory'
        ? { refuse: `DANE FAILED: no usable TLSA record at ${state.owner} (${state.records.map(tlsaText).join(', ')}) and DANE is mandatory` }
        : { attempt: true, mustEncrypt: true, note: `SECURE TLSA records at ${state.owner} are all unusable (${state.records.map(tlsaText).join(', ')}); TLS required without authentication` };
    case 'bogus':
      return { refuse: `DANE FAILED: ${state.why}; the host is not used` };
    case 'none':
      return mode === 'mandatory' ? { refuse: `DANE FAILED: ${state.why}; DANE is mandatory and the host does not support it` } : { note: `DANE not used: ${state.why}` };
  }
}

/**
 * DANE (destconfig --dane opportunistic|mandatory). Lookups for every host start in `prepare`,
 * before the first connection; `demand` waits for the host's own; `judge` matches the peer's
 * chain against the host's TLSA records. Nothing here ever lowers another policy's demand.
 */
export function danePolicy(mode: DaneMode, domain: string, lookupTlsa: TlsaLookup, reports?: TlsReportSink): TlsPolicy {
  const states = new Map<Target, Promise<DaneHostState>>();
  const known = new Map<Target, DaneHostState>();
  const stateOf = (target: Target) => {
    let s = states.get(target);
    if (!s) {
      s = daneHostState(target, domain, lookupTlsa).then((state) => {
        known.set(target, state);
        return state;
      });
      states.set(target, s);
    }
    return s;
  };
  return {
    name: 'DANE',
    prepare(targets) {
      for (const t of targets) void stateOf(t);
    },
    async demand(mx: MxTarget) {
      if (!mx.target) return mode === 'mandatory' ? { refuse: 'DANE FAILED: no DNS information for the host' } : null;
      return daneDemand(mode, await stateOf(mx.target), mx.mxHost);
    },
    async judge(_mx, req, peer) {
      if (!req.dane) return null;
      const result = await verifyDane({ chain: peer.chain, records: req.dane.records, names: req.dane.names });
      return result.ok ? { ok: true, by: 'DANE', how: result.how } : { ok: false, reason: `DANE: ${result.reason}` };
    },
    settle(mx, _req, result) {
      const state = mx.target && known.get(mx.target);
      if (reports && state) {
        const report = daneReport(mode, domain, mx.mxHost, state, result);
        if (report) reports.record(report);
      }
    },
  };
}

/** What a DANE host's outcome adds to the TLS reports (RFC 8460): nothing where DANE had no say. */
function daneReport(mode: DaneMode, domain: string, mxHost: string, state: DaneHostState, result: HostResult): Parameters<TlsReportSink['record']>[0] | null {
  const none: ReportedPolicy = { type: 'no-policy-found', domain, strings: [], mxHosts: [mxHost] };
  switch (state.kind) {
    case 'bogus':
      return { policy: none, failure: { type: 'dnssec-invalid', mxHost, reason: state.why } };
    case 'none':
      return mode === 'mandatory' ? { policy: none, failure: { type: 'dane-required', mxHost, reason: state.why } } : null;
    case 'unusable': {
      const policy: ReportedPolicy = { type: 'tlsa', domain, strings: state.records.map(tlsaText), mxHosts: [mxHost] };
      return mode === 'mandatory' ? { policy, failure: { type: 'tlsa-invalid', mxHost, reason: 'no usable TLSA record' } } : null;
    }
    case 'dane': {
      const policy: ReportedPolicy = { type: 'tlsa', domain, strings: state.requirement.records.map(tlsaText), mxHosts: [mxHost] };
      if (result.kind !== 'session') return null;
      const obs = result.observation;
      if (obs?.stage === 'secure' && obs.verification?.ok) return { policy };
      const reason = obs?.stage === 'secure' && obs.verification && !obs.verification.ok ? obs.verification.reason : undefined;
      return { policy, failure: { type: sessionFailureType(obs, reason), mxHost, ...(reason ? { reason } : {}), ...(result.localAddress ? { sendingIp: result.localAddress } : {}) } };
    }
  }
}
