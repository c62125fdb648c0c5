import { toPem } from '../../../pki/pem.js';
import type { DestinationTls } from '../../../store/destinations/destinations.js';
import { verifyPeer } from '../../tls/verifyPeer.js';
import type { Tlsa } from '../../tls/dane.js';
import type { Target } from '../route.js';
import type { Judgement, PolicyName } from './identity.js';
import { type Decision, type Observation, requirementFor, type TlsRequirement } from './tlsDecision.js';

/** The MX host a connection is about to be made to, for the destination domain. */
export interface MxTarget {
  domain: string;
  mxHost: string;
  /** The resolved target (address, port, DNSSEC status of its lookups), when there is one. */
  target?: Target;
}

/** DANE authentication required for a host: its usable TLSA records and reference names. */
export interface DaneRequirement {
  /** The TLSA base domain (also the SNI name). */
  base: string;
  /** The owner name queried, e.g. _25._tcp.mx.example.com. */
  owner: string;
  records: Tlsa[];
  /** Reference identifiers for DANE-TA: base domain, MX host, next-hop domain. */
  names: string[];
}

/** What a policy asks of the connection to one MX; unset fields ask nothing. */
export type Demand = Partial<Pick<TlsRequirement, 'attempt' | 'mustEncrypt' | 'verify' | 'identity'>> & {
  /** This host must not be used; the reason is logged (e.g. DANE lookup failed). */
  refuse?: string;
  /** Authenticate the peer by DANE instead of the CA lists. */
  dane?: DaneRequirement;
  /** What the policy found, for the mail log. */
  note?: string;
  /** The policy vouches that this MX host serves the domain (MTA-STS in enforce mode: the host matched its policy). */
  vouchesForMx?: boolean;
};

/** The session after the TLS handshake, as a policy judges it. */
export interface PeerSession {
  /** The chain the server sent, leaf first (DER). */
  chain: Buffer[];
  protocol: string;
  cipher: string;
}

export type { Judgement } from './identity.js';

/** What became of one host: not used, or a session and the decision taken on it. */
export type HostResult =
  | { kind: 'refused'; reason: string }
  | { kind: 'session'; observation: Observation | null; decision: Decision; localAddress?: string };

/**
 * One source of TLS requirements for delivery, in three stages (maddy's remote target security
 * shape): `prepare` starts its lookups for all hosts of a destination before the first connection;
 * `demand` answers per MX (may the host be used, what does it require), seeing what the policies
 * before it demanded (`sofar`: MTA-STS steps aside where DANE authenticates); `judge` looks at the
 * established session. `settle` learns the outcome (logs, TLS reports). The chain combines demands
 * so that a policy can only make the requirement stricter, never weaker: whatever one policy
 * demands, no other can undo.
 */
export interface TlsPolicy {
  readonly name: PolicyName;
  prepare?(targets: Target[]): void;
  demand(mx: MxTarget, sofar: MxRequirement): Demand | null | Promise<Demand | null>;
  judge?(mx: MxTarget, req: MxRequirement, peer: PeerSession): Judgement | null | Promise<Judgement | null>;
  settle?(mx: MxTarget, req: MxRequirement, result: HostResult): void;
}

/** The requirement for one MX, and the policies that had a say in it. */
export type MxRequirement = TlsRequirement & {
  by: PolicyName[];
  refuse?: string;
  refusedBy?: PolicyName;
  dane?: DaneRequirement;
  notes: { by: PolicyName; text: string }[];
  /** The policy that vouched for the MX host (REQUIRETLS needs that or a DNSSEC-secure MX lookup). */
  mxVouchedBy?: PolicyName;
};

const VERIFY_ORDER = ['none', 'try', 'must'] as const;

/** The stricter of two requirements, field by field. */
export function strictest<T extends TlsRequirement>(a: T, b: Demand): T {
  return {
    ...a,
    attempt: a.attempt || (b.attempt ?? false) || (b.mustEncrypt ?? false),
    mustEncrypt: a.mustEncrypt || (b.mustEncrypt ?? false),
    verify: VERIFY_ORDER[Math.max(VERIFY_ORDER.indexOf(a.verify), VERIFY_ORDER.indexOf(b.verify ?? 'none'))]!,
    identity: a.identity === 'hosted' || b.identity === 'hosted' ? 'hosted' : 'standard',
  };
}

/** What the destination control checks a peer certificate against (the enabled CA lists). */
export interface PkixOptions {
  trusted: string[];
  fqdnCheck?: boolean;
  x509Check?: boolean;
}

/**
 * Destination controls (destconfig): the domain's TLS setting, the same for every MX. With
 * `pkix`, it judges sessions it must verify by the CA lists and the guide's name rules — unless
 * DANE authenticates that host, which replaces the CA check (RFC 7672 §3).
 */
export function destinationControl(setting: DestinationTls, pkix?: PkixOptions): TlsPolicy {
  const { attempt, mustEncrypt, verify, identity } = requirementFor(setting);
  return {
    name: 'destination control',
    demand: () => ({ attempt, mustEncrypt, verify, identity }),
    ...(pkix
      ? {
          async judge(mx: MxTarget, req: MxRequirement, peer: PeerSession): Promise<Judgement | null> {
            // DANE replaces the CA check; another policy's verification (MTA-STS) is its own. A setting
            // that checks nothing still looks, when nothing else requires a check, for tlsreport's
            // evidence (the decision ignores it: decide() with verify "none").
            if (req.dane || (verify === 'none' && req.verify !== 'none')) return null;
            const result = await verifyPeer({
              chain: peer.chain.map((der) => toPem('CERTIFICATE', der)),
              trusted: pkix.trusted,
              mxHost: mx.mxHost,
              domain: mx.domain,
              identity: req.identity,
              ...(pkix.fqdnCheck !== undefined ? { fqdnCheck: pkix.fqdnCheck } : {}),
              ...(pkix.x509Check !== undefined ? { x509Check: pkix.x509Check } : {}),
            });
            if (result.ok) return { ok: true, by: 'CA' };
            // Preferred (Verify) does not hold up a session another policy requires and vouches for.
            return verify !== 'must' && req.verify === 'must' ? null : result;
          },
        }
      : {}),
  };
}

/** Start every policy's lookups for the hosts of a destination. */
export function preparePolicies(policies: TlsPolicy[], targets: Target[]): void {
  for (const p of policies) p.prepare?.(targets);
}

/**
 * Run the chain for one MX: from nothing required, every policy's demand applied in order.
 * `setting` is the destination's TLS setting, named in the logs. A refusal and a DANE
 * requirement, once demanded, stay.
 */
export async function requirementForMx(setting: DestinationTls, policies: TlsPolicy[], mx: MxTarget): Promise<MxRequirement> {
  let req: MxRequirement = { setting, attempt: false, mustEncrypt: false, verify: 'none', identity: 'standard', by: [], notes: [] };
  for (const policy of policies) {
    const demand = await policy.demand(mx, req);
    if (!demand) continue;
    req = strictest(req, demand);
    req.by.push(policy.name);
    if (demand.note) req.notes.push({ by: policy.name, text: demand.note });
    if (demand.refuse && !req.refuse) {
      req.refuse = demand.refuse;
      req.refusedBy = policy.name;
    }
    if (demand.dane && !req.dane) req.dane = demand.dane;
    if (demand.vouchesForMx && !req.mxVouchedBy) req.mxVouchedBy = policy.name;
  }
  return req;
}

/**
 * Stage three: every policy's judgement of the session. The first failure decides; otherwise the
 * session is authenticated when some policy vouched for it (`by`), and unchecked when none did.
 */
export async function judgeSession(policies: TlsPolicy[], mx: MxTarget, req: MxRequirement, peer: PeerSession): Promise<Judgement | null> {
  let verdict: Judgement | null = null;
  for (const policy of policies) {
    const j = await policy.judge?.(mx, req, peer);
    if (!j) continue;
    if (!j.ok) return j;
    verdict = j;
  }
  return verdict;
}

/** Tell every policy what became of a host. */
export function settlePolicies(policies: TlsPolicy[], mx: MxTarget, req: MxRequirement, result: HostResult): void {
  for (const p of policies) p.settle?.(mx, req, result);
}
