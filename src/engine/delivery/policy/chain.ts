import type { DestinationTls } from '../../../store/destinations.js';
import { requirementFor, type TlsRequirement } from './tlsDecision.js';

/** The MX host a connection is about to be made to, for the destination domain. */
export interface MxTarget {
  domain: string;
  mxHost: string;
}

/** What a policy asks of the connection to one MX; unset fields ask nothing. */
export type Demand = Partial<Pick<TlsRequirement, 'attempt' | 'mustEncrypt' | 'verify' | 'identity'>>;

/**
 * One source of TLS requirements for delivery: the destination control now; DANE and MTA-STS
 * plug in next. Each looks at the MX and answers with a demand (or nothing). The chain combines
 * them so that a policy can only make the requirement stricter, never weaker: whatever one policy
 * demands, no other can undo.
 */
export interface TlsPolicy {
  readonly name: string;
  demand(mx: MxTarget): Demand | null;
}

/** The requirement for one MX, and the policies that had a say in it. */
export type MxRequirement = TlsRequirement & { by: string[] };

const VERIFY_ORDER = ['none', 'try', 'must'] as const;

/** The stricter of two requirements, field by field. */
export function strictest(a: TlsRequirement, b: Demand): TlsRequirement {
  return {
    setting: a.setting,
    attempt: a.attempt || (b.attempt ?? false) || (b.mustEncrypt ?? false),
    mustEncrypt: a.mustEncrypt || (b.mustEncrypt ?? false),
    verify: VERIFY_ORDER[Math.max(VERIFY_ORDER.indexOf(a.verify), VERIFY_ORDER.indexOf(b.verify ?? 'none'))]!,
    identity: a.identity === 'hosted' || b.identity === 'hosted' ? 'hosted' : 'standard',
  };
}

/** Destination controls (destconfig): the domain's TLS setting, the same for every MX. */
export function destinationControl(setting: DestinationTls): TlsPolicy {
  const { attempt, mustEncrypt, verify, identity } = requirementFor(setting);
  return { name: 'destination control', demand: () => ({ attempt, mustEncrypt, verify, identity }) };
}

/**
 * Run the chain for one MX: from nothing required, every policy's demand applied in order.
 * `setting` is the destination's TLS setting, named in the logs.
 */
export function requirementForMx(setting: DestinationTls, policies: TlsPolicy[], mx: MxTarget): MxRequirement {
  let req: TlsRequirement = { setting, attempt: false, mustEncrypt: false, verify: 'none', identity: 'standard' };
  const by: string[] = [];
  for (const policy of policies) {
    const demand = policy.demand(mx);
    if (!demand) continue;
    req = strictest(req, demand);
    by.push(policy.name);
  }
  return { ...req, by };
}
