import net from 'node:net';
import { z } from 'zod';
import { entryCovers } from '../domainMatch.js';
import { inLastOctetRange, LIMITS, senderPatternKind, senderPatternProblem, unmappedAddress } from '../grammar.js';
import { compileSenderGroup } from './senderGroupMatcher.js';

/**
 * The host access table (HAT) of a listener: sender groups, checked in order, map the connecting
 * host to a mail flow policy. Policies leave a parameter unset to take the listener's default
 * policy parameters (hostaccess DEFAULT), as on the appliance.
 */

export const TLS_LEVELS = ['off', 'preferred', 'required'] as const;
export type TlsLevel = (typeof TLS_LEVELS)[number];
export const POLICY_ACTIONS = ['accept', 'relay', 'reject'] as const;
export type PolicyAction = (typeof POLICY_ACTIONS)[number];

const HAT_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
export const hatName = z.string().regex(HAT_NAME, 'must start with a letter and hold only letters, digits, "_" or "-"');

const pattern = z.string().superRefine((p, ctx) => {
  const problem = senderPatternProblem(p);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const limit = (l: { min: number; max: number }) => z.number().int().min(l.min).max(l.max);
const limits = {
  maxMessageSize: limit(LIMITS.maxMessageSize),
  maxConcurrency: limit(LIMITS.maxConcurrency),
  maxMessagesPerConnection: limit(LIMITS.maxMessagesPerConnection),
  maxRecipientsPerMessage: limit(LIMITS.maxRecipientsPerMessage),
};

export const PolicyParametersSchema = z.object({
  tls: z.enum(TLS_LEVELS).default('off'),
  /** RFC 8689: REQUIRETLS is offered after STARTTLS (a sender may then demand TLS all the way). */
  requireTls: z.boolean().default(true),
  /** Bounce verification (bvconfig): a bounce (null sender) to an address without a tag is accepted; no: refused while tagging keys exist. */
  acceptUntaggedBounces: z.boolean().default(true),
  maxMessageSize: limits.maxMessageSize.default(10 * 1024 * 1024),
  maxConcurrency: limits.maxConcurrency.default(10),
  maxMessagesPerConnection: limits.maxMessagesPerConnection.default(10),
  maxRecipientsPerMessage: limits.maxRecipientsPerMessage.default(50),
});

export const MailFlowPolicySchema = z.object({
  name: hatName,
  action: z.enum(POLICY_ACTIONS),
  tls: z.enum(TLS_LEVELS).optional(),
  requireTls: z.boolean().optional(),
  acceptUntaggedBounces: z.boolean().optional(),
  maxMessageSize: limits.maxMessageSize.optional(),
  maxConcurrency: limits.maxConcurrency.optional(),
  maxMessagesPerConnection: limits.maxMessagesPerConnection.optional(),
  maxRecipientsPerMessage: limits.maxRecipientsPerMessage.optional(),
});

export const SenderGroupSchema = z.object({
  name: hatName,
  patterns: z.array(pattern).default(() => []),
  policy: hatName,
  comment: z.string().default(''),
});

export const HatSchema = z.object({
  defaults: PolicyParametersSchema.default(() => PolicyParametersSchema.parse({})),
  policies: z.array(MailFlowPolicySchema),
  senderGroups: z.array(SenderGroupSchema),
});

export type Hat = z.infer<typeof HatSchema>;
export type MailFlowPolicy = z.infer<typeof MailFlowPolicySchema>;
export type PolicyParameters = z.infer<typeof PolicyParametersSchema>;
export type SenderGroup = z.infer<typeof SenderGroupSchema>;
export type EffectivePolicy = PolicyParameters & { name: string; action: PolicyAction };

/** The HAT a new listener gets, as the appliance ships it; every policy leaves TLS to the defaults (off). */
export function defaultHat(type: 'public' | 'private'): Hat {
  const defaults = PolicyParametersSchema.parse({});
  if (type === 'private') {
    return {
      defaults,
      policies: [
        { name: 'RELAYED', action: 'relay' },
        { name: 'BLOCKED', action: 'reject' },
      ],
      senderGroups: [
        { name: 'RELAYLIST', patterns: [], policy: 'RELAYED', comment: 'Hosts allowed to relay through this listener' },
        { name: 'ALL', patterns: ['ALL'], policy: 'BLOCKED', comment: 'Everyone else' },
      ],
    };
  }
  return {
    defaults,
    policies: [
      { name: 'ACCEPTED', action: 'accept' },
      { name: 'THROTTLED', action: 'accept', maxMessageSize: 1024 * 1024, maxConcurrency: 10, maxMessagesPerConnection: 10, maxRecipientsPerMessage: 25 },
      { name: 'TRUSTED', action: 'accept', maxMessageSize: 100 * 1024 * 1024, maxConcurrency: 600, maxMessagesPerConnection: 5000, maxRecipientsPerMessage: 5000 },
      { name: 'BLOCKED', action: 'reject' },
    ],
    senderGroups: [
      { name: 'ALLOWLIST', patterns: [], policy: 'TRUSTED', comment: 'My trusted senders have no rate limiting' },
      { name: 'BLOCKLIST', patterns: [], policy: 'BLOCKED', comment: 'Spammers are rejected' },
      { name: 'SUSPECTLIST', patterns: [], policy: 'THROTTLED', comment: 'Suspicious senders are throttled' },
      { name: 'UNKNOWNLIST', patterns: [], policy: 'ACCEPTED', comment: 'Reviewed but undecided, continue normal acceptance' },
      { name: 'ALL', patterns: ['ALL'], policy: 'ACCEPTED', comment: 'Everyone else' },
    ],
  };
}

export const stripDollar = (name: string) => name.replace(/^\$/, '');
const same = (a: string, b: string) => stripDollar(a).toLowerCase() === stripDollar(b).toLowerCase();

export function findPolicy(hat: Hat, name: string): MailFlowPolicy | undefined {
  return hat.policies.find((p) => same(p.name, name));
}

export function findSenderGroup(hat: Hat, name: string): SenderGroup | undefined {
  return hat.senderGroups.find((g) => same(g.name, name));
}

export function effectivePolicy(hat: Hat, policy: MailFlowPolicy): EffectivePolicy {
  const out: EffectivePolicy = { ...hat.defaults, name: policy.name, action: policy.action };
  for (const k of ['tls', 'requireTls', 'acceptUntaggedBounces', 'maxMessageSize', 'maxConcurrency', 'maxMessagesPerConnection', 'maxRecipientsPerMessage'] as const) {
    if (policy[k] !== undefined) (out as Record<string, unknown>)[k] = policy[k];
  }
  return out;
}

function ipInCidr(ip: string, base: string, bits: number): boolean {
  const list = new net.BlockList();
  list.addSubnet(base, bits, net.isIP(base) === 6 ? 'ipv6' : 'ipv4');
  return list.check(ip, net.isIP(ip) === 6 ? 'ipv6' : 'ipv4');
}

/** Does one sender group entry match a client (address, and host name when known)? */
export function patternMatches(pattern: string, ip: string, hostname?: string): boolean {
  switch (senderPatternKind(pattern)) {
    case 'all':
      return true;
    case 'ip':
      return net.isIP(ip) === net.isIP(pattern) && ipInCidr(ip, pattern, net.isIP(pattern) === 4 ? 32 : 128);
    case 'cidr': {
      const [base, bits] = pattern.split('/') as [string, string];
      return net.isIP(ip) === net.isIP(base) && ipInCidr(ip, base, Number(bits));
    }
    case 'partial':
      return net.isIP(ip) === 4 && ip.startsWith(pattern);
    case 'range':
      return inLastOctetRange(pattern, ip);
    case 'name':
      return hostname !== undefined && entryCovers(pattern, hostname);
  }
}

/** A HAT ready for connections: what a client costs does not grow with the sender groups' sizes. */
export interface CompiledHat {
  /** The first sender group that matches, and its policy with defaults applied (shared: never changed). */
  classify(ip: string, hostname?: string): { group: string; policy: EffectivePolicy } | undefined;
  /** Does any sender group name hosts (so the client's host name must be looked up)? */
  readonly usesHostnames: boolean;
}

/** Compile a HAT (a listener does at each commit): the result never reads `hat` again, so later changes to it are not seen. */
export function compileHat(hat: Hat): CompiledHat {
  const groups = hat.senderGroups.map((group) => {
    const policy = findPolicy(hat, group.policy);
    return { name: group.name, matcher: compileSenderGroup(group.patterns), policy: policy && Object.freeze(effectivePolicy(hat, policy)) };
  });
  return {
    usesHostnames: groups.some((g) => g.matcher.hasNames),
    classify(ip, hostname) {
      const address = unmappedAddress(ip);
      const group = groups.find((g) => g.policy && g.matcher.matches(address, hostname));
      return group && { group: group.name, policy: group.policy! };
    },
  };
}

/** Problems that span the table: unknown policies, duplicate names. */
export function hatProblems(hat: Hat): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const p of hat.policies) {
    if (seen.has(p.name.toLowerCase())) problems.push(`policy $${p.name} is defined twice`);
    seen.add(p.name.toLowerCase());
  }
  const groups = new Set<string>();
  for (const g of hat.senderGroups) {
    if (groups.has(g.name.toLowerCase())) problems.push(`sender group ${g.name} is defined twice`);
    groups.add(g.name.toLowerCase());
    if (!findPolicy(hat, g.policy)) problems.push(`sender group ${g.name} uses policy $${stripDollar(g.policy)}, which does not exist`);
  }
  return problems;
}

/** Does any policy that lets hosts in offer TLS? */
export function hatOffersTls(hat: Hat): boolean {
  return hat.policies.some((p) => p.action !== 'reject' && (p.tls ?? hat.defaults.tls) !== 'off');
}
