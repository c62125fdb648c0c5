import { z } from 'zod';
import { domainProblem } from '../grammar.js';
import { entryForPattern, mostSpecificEntry } from '../domainMatch.js';
import { DEFAULT_BOUNCE_PROFILE } from '../bounces/profiles.js';
import { objectName } from '../objectName.js';

/**
 * Destination controls (destconfig): per-domain delivery settings, most importantly the TLS
 * setting, DANE and MTA-STS. An entry is an exact domain or ".domain" for its subdomains; the
 * default entry covers everything else.
 */

export const DEST_TLS = ['no', 'preferred', 'required', 'preferred-verify', 'required-verify', 'required-verify-hosted'] as const;
export type DestinationTls = (typeof DEST_TLS)[number];

export const TLS_LABELS: Record<DestinationTls, string> = {
  no: 'No',
  preferred: 'Preferred',
  required: 'Required',
  'preferred-verify': 'Preferred (Verify)',
  'required-verify': 'Required (Verify)',
  'required-verify-hosted': 'Required - Verify Hosted Domain',
};

/** DANE Support (RFC 7672): None, Opportunistic, Mandatory. Needs a TLS setting other than No. */
export const DANE_MODES = ['none', 'opportunistic', 'mandatory'] as const;
export type DaneMode = (typeof DANE_MODES)[number];

export const DANE_LABELS: Record<DaneMode, string> = { none: 'None', opportunistic: 'Opportunistic', mandatory: 'Mandatory' };

/** MTA-STS Support (RFC 8461): No / Yes (entries also Default). Needs a TLS setting other than No. */
export const MTA_STS_MODES = ['no', 'yes'] as const;
export type MtaStsMode = (typeof MTA_STS_MODES)[number];

/**
 * The order of a mail exchanger's addresses (the appliance's "sort IP addresses within an MX"):
 * Prefer tries the other family when every preferred address failed; Require never uses it.
 */
export const IP_SORT = ['prefer-ipv4', 'prefer-ipv6', 'require-ipv4', 'require-ipv6'] as const;
export type IpSort = (typeof IP_SORT)[number];

export const IP_SORT_LABELS: Record<IpSort, string> = { 'prefer-ipv4': 'Prefer IPv4', 'prefer-ipv6': 'Prefer IPv6', 'require-ipv4': 'Require IPv4', 'require-ipv6': 'Require IPv6' };

/**
 * What the concurrency limit counts (the appliance's "apply the limits for"): messages under way to
 * the whole domain, or connections to each of its mail exchanger addresses.
 */
export const LIMIT_TYPES = ['domain', 'mx-ip'] as const;
export type LimitType = (typeof LIMIT_TYPES)[number];
export const LIMIT_TYPE_LABELS: Record<LimitType, string> = { domain: 'One limit applies to the entire domain', 'mx-ip': 'Separate limit for each mail exchanger IP address' };

/** Where limits are enforced: mxgate delivers from one address, so per Virtual Gateway is the same as System Wide. */
export const LIMIT_SCOPES = ['system', 'virtual-gateway'] as const;
export type LimitScope = (typeof LIMIT_SCOPES)[number];
export const LIMIT_SCOPE_LABELS: Record<LimitScope, string> = { system: 'System Wide', 'virtual-gateway': 'Per Virtual Gateway(tm)' };

export const destinationDomain = z.string().refine((s) => domainProblem(s) === undefined, 'is not a domain or ".domain"');

const settings = {
  maxConcurrency: z.number().int().min(1).max(1000),
  messagesPerConnection: z.number().int().min(1).max(10000),
  recipientLimit: z.object({ recipients: z.number().int().min(1), minutes: z.number().int().min(1).max(60) }).nullable(),
  /** The bounce profile (bounceconfig) for this destination's mail: retries, expiry, bounce and delay messages. */
  bounceProfile: objectName,
};

export const DestinationDefaultsSchema = z.object({
  tls: z.enum(DEST_TLS).default('no'),
  dane: z.enum(DANE_MODES).default('none'),
  /** Off on the default entry, as on the appliance (which advises against it there for performance). */
  mtaSts: z.enum(MTA_STS_MODES).default('no'),
  /** Dual stack: IPv6 first, IPv4 when IPv6 fails (an IPv4-only MX is unaffected). */
  ipSort: z.enum(IP_SORT).default('prefer-ipv6'),
  maxConcurrency: settings.maxConcurrency.default(500),
  limitType: z.enum(LIMIT_TYPES).default('domain'),
  limitScope: z.enum(LIMIT_SCOPES).default('system'),
  messagesPerConnection: settings.messagesPerConnection.default(50),
  recipientLimit: settings.recipientLimit.default(null),
  bounceProfile: settings.bounceProfile.default(DEFAULT_BOUNCE_PROFILE),
  /** Bounce verification: tag the envelope sender of mail to this destination (bvconfig keys). */
  bounceVerification: z.boolean().default(false),
});

/** A domain entry: an unset setting takes the default entry's value ("Default" on the appliance). */
export const DestinationSchema = z.object({
  domain: destinationDomain,
  tls: z.enum(DEST_TLS).optional(),
  dane: z.enum(DANE_MODES).optional(),
  mtaSts: z.enum(MTA_STS_MODES).optional(),
  ipSort: z.enum(IP_SORT).optional(),
  maxConcurrency: settings.maxConcurrency.optional(),
  limitType: z.enum(LIMIT_TYPES).optional(),
  limitScope: z.enum(LIMIT_SCOPES).optional(),
  messagesPerConnection: settings.messagesPerConnection.optional(),
  recipientLimit: settings.recipientLimit.optional(),
  bounceProfile: settings.bounceProfile.optional(),
  bounceVerification: z.boolean().optional(),
});

export type DestinationDefaults = z.infer<typeof DestinationDefaultsSchema>;
export type Destination = z.infer<typeof DestinationSchema>;
export type ResolvedDestination = DestinationDefaults & { domain: string | null; source: string };

export interface DeliverySettings {
  defaults: DestinationDefaults;
  destinations: Destination[];
}

/** The entry that applies to a domain: exact match, then the longest ".domain", then the default. */
export function destinationFor(delivery: DeliverySettings, domain: string): ResolvedDestination {
  return withDefaults(delivery, mostSpecificEntry(delivery.destinations, domain));
}

/** The settings of a destination entry's pattern (a domain or ".domain") as destconfig shows and edits them. */
export function destinationForPattern(delivery: DeliverySettings, pattern: string): ResolvedDestination {
  return withDefaults(delivery, entryForPattern(delivery.destinations, pattern));
}

function withDefaults(delivery: DeliverySettings, entry: Destination | undefined): ResolvedDestination {
  const resolved: ResolvedDestination = { ...delivery.defaults, domain: entry?.domain ?? null, source: entry ? entry.domain : 'Default' };
  if (entry) for (const [k, v] of Object.entries(entry)) if (v !== undefined && k !== 'domain') (resolved as Record<string, unknown>)[k] = v;
  if (entry?.tls === 'no') Object.assign(resolved, offWithoutTls(entry));
  return resolved;
}

/**
 * An entry whose own TLS setting is No does not inherit DANE or MTA-STS from the default entry
 * (both need TLS): "destconfig new example.net --tls no" means plain SMTP whatever the default says.
 * Only settings the entry gives itself are kept, and those the consistency rule refuses.
 */
function offWithoutTls(entry: Destination): Pick<Destination, 'dane' | 'mtaSts'> {
  return { dane: entry.dane ?? 'none', mtaSts: entry.mtaSts ?? 'no' };
}

/** True when the entry's DANE or MTA-STS value is "off because its own TLS is No", not the default's. */
export function inheritedOffByTls(entry: Destination | undefined, key: 'dane' | 'mtaSts'): boolean {
  return entry?.tls === 'no' && entry[key] === undefined;
}


/**
 * Entries (and the default) whose DANE or MTA-STS setting is on while their TLS setting is No, as
 * resolved, with what is on: "Default (DANE)", "example.com (MTA-STS)".
 */
export function securityWithoutTls(delivery: DeliverySettings): string[] {
  const bad: string[] = [];
  const check = (name: string, tls: DestinationTls, dane: DaneMode, mtaSts: MtaStsMode) => {
    if (tls !== 'no') return;
    const on = [...(dane !== 'none' ? ['DANE'] : []), ...(mtaSts === 'yes' ? ['MTA-STS'] : [])];
    if (on.length) bad.push(`${name} (${on.join(', ')})`);
  };
  check('Default', delivery.defaults.tls, delivery.defaults.dane, delivery.defaults.mtaSts);
  for (const e of delivery.destinations) {
    const own = e.tls === 'no' ? offWithoutTls(e) : e;
    check(e.domain, e.tls ?? delivery.defaults.tls, own.dane ?? delivery.defaults.dane, own.mtaSts ?? delivery.defaults.mtaSts);
  }
  return bad;
}
