import net from 'node:net';
import type { IpSort } from '../../store/destinations/destinations.js';
import { canonicalName, mostSpecificEntry } from '../../store/domainMatch.js';
import type { Config } from '../../store/schema.js';
import type { DnsClient, DnsSecurity } from '../dns/client.js';

/** The DNSSEC status of the lookups that led to a target, for DANE (RFC 7672 §2.2). */
export interface TargetDnssec {
  /** The MX RRset (an SMTP route is the administrator's own word: secure). */
  mx: DnsSecurity;
  /** The host's address RRset (A or AAAA, whichever gave this address). */
  address: DnsSecurity;
  /** The host name after the CNAME chain of its address lookup (the TLSA base candidate). */
  canonical: string;
}

export interface Target {
  /** Address or name to connect to. */
  host: string;
  port: number;
  /** The MX host name (reference identity for certificate checks). */
  mxHost: string;
  dnssec: TargetDnssec;
}

export class RouteError extends Error {
  constructor(
    message: string,
    /** Permanent: bounce now (null MX, no such domain). */
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

/** The targets of a domain, with what went wrong on the way (address lookups that failed). */
export interface Route {
  targets: Target[];
  /** How the hosts were found: an SMTP route, MX records, or the domain itself (implicit MX). */
  via: 'route' | 'mx' | 'implicit';
  mxSecurity: DnsSecurity;
  problems: string[];
}

/**
 * What one domain may cost a delivery attempt, whatever its DNS says (a hostile zone can publish
 * thousands of MX records whose addresses never answer): the most preferred MX hosts only (Postfix
 * looks at 5), a bounded number of addresses, and a time budget for all the address lookups.
 * Each cut is named in the route's problems, which the delivery logs.
 */
export const ROUTE_LIMITS = { mxHosts: 5, addresses: 10, lookupMs: 30_000 };

/** The address records to look up for a host, in the order they are tried (the destination's IP sort preference). */
const FAMILIES: Record<IpSort, ('A' | 'AAAA')[]> = { 'prefer-ipv4': ['A', 'AAAA'], 'prefer-ipv6': ['AAAA', 'A'], 'require-ipv4': ['A'], 'require-ipv6': ['AAAA'] };

/** The address record an address comes from: AAAA for IPv6, A for IPv4. */
export const recordTypeOf = (ip: string): 'A' | 'AAAA' => (net.isIP(ip) === 6 ? 'AAAA' : 'A');

/** Does an address literal belong to the families the preference allows? */
const allowed = (ip: string, sort: IpSort) => FAMILIES[sort].includes(recordTypeOf(ip));

/**
 * Every address of one host the preference allows, in its order, each with the status of the RRset
 * it came from; `known`: the DNS has the name (it answered NOERROR to a lookup), so a missing
 * address family is missing, not a name only the hosts file knows.
 */
async function addressesOf(client: DnsClient, host: string, port: number, mx: DnsSecurity, problems: string[], sort: IpSort): Promise<{ targets: Target[]; known: boolean }> {
  if (net.isIP(host)) return { targets: allowed(host, sort) ? [{ host, port, mxHost: host, dnssec: { mx, address: 'secure', canonical: host } }] : [], known: true };
  const targets: Target[] = [];
  let known = false;
  for (const type of FAMILIES[sort]) {
    const res = await client.lookup(host, type);
    if (res.security === 'bogus') problems.push(`${type} lookup for ${host} failed: ${res.reason}`);
    else if (res.rcode === 'NOERROR') known = true;
    for (const a of res.records) targets.push({ host: (a as { data: string }).data, port, mxHost: host, dnssec: { mx, address: res.security, canonical: res.canonical } });
  }
  return { targets, known };
}

/**
 * Where mail for a domain goes: an SMTP route (exact domain, then the longest ".domain"), else
 * the MX hosts in preference order, else the domain itself (implicit MX). A null MX (RFC 7505)
 * is a permanent failure. Lookups go through the engine's own DNS client (dnsconfig servers), and
 * each target carries the DNSSEC status of the lookups behind it. A route host name the DNS
 * client cannot resolve is left to the system resolver (a hosts-file name), as insecure. Within
 * each host, addresses follow the destination's IP sort preference (`sort`): the preferred family
 * first, the other after it (Prefer) or not at all (Require).
 */
export async function resolveRoute(config: Config, domain: string, client: DnsClient, sort: IpSort): Promise<Route> {
  const d = canonicalName(domain);
  const problems: string[] = [];
  const route = mostSpecificEntry(config.smtpRoutes, d);
  if (route) {
    const targets: Target[] = [];
    for (const h of route.hosts) {
      if (net.isIP(h.host) && !allowed(h.host, sort)) continue;
      const before = problems.length;
      const found = await addressesOf(client, h.host, h.port, 'secure', problems, sort);
      const failed = problems.length > before;
      if (found.targets.length) targets.push(...found.targets);
      // A name the DNS does not know is left to the system resolver (the hosts file); one it knows
      // without an address of the allowed family is not used (Require IPv4 never reaches an IPv6-only host).
      else if (!found.known) targets.push({ host: h.host, port: h.port, mxHost: h.host, dnssec: { mx: 'secure' as const, address: failed ? ('bogus' as const) : ('insecure' as const), canonical: h.host.toLowerCase() } });
      else problems.push(`${h.host} has no ${sort.startsWith('require') ? `${familyWord(sort)} ` : ''}address`);
    }
    if (targets.length === 0) throw new RouteError(`no ${wantedAddress(sort)} among the SMTP route hosts of ${d}${problems.length ? ` (${problems.join('; ')})` : ''}`, false);
    return { targets, via: 'route', mxSecurity: 'secure', problems };
  }

  const answer = await client.lookup(d, 'MX');
  if (answer.rcode === 'NXDOMAIN') throw new RouteError(`domain ${d} does not exist`, true);
  if (answer.security === 'bogus' && answer.records.length === 0) throw new RouteError(`MX lookup for ${d} failed: ${answer.reason}`, false);
  // MX records that failed validation: DANE uses none of their hosts (mxSecurity bogus); without DANE they serve.
  if (answer.security === 'bogus') problems.push(`MX lookup for ${d} failed DNSSEC validation: ${answer.reason}`);
  let mx = answer.records.map((a) => {
    const data = (a as { data: { preference: number; exchange: string } }).data;
    return { exchange: data.exchange, priority: data.preference };
  });
  const via = mx.length ? 'mx' : 'implicit';
  if (mx.length === 0) mx = [{ exchange: d, priority: 0 }];
  if (mx.length === 1 && (mx[0]!.exchange === '' || mx[0]!.exchange === '.')) throw new RouteError(`${d} accepts no mail (null MX, RFC 7505)`, true);
  const hosts = [...mx].sort((a, b) => a.priority - b.priority);
  if (hosts.length > ROUTE_LIMITS.mxHosts) problems.push(`${hosts.length} MX hosts; only the ${ROUTE_LIMITS.mxHosts} most preferred are used`);
  let targets: Target[] = [];
  const started = Date.now();
  for (const m of hosts.slice(0, ROUTE_LIMITS.mxHosts)) {
    if (Date.now() - started > ROUTE_LIMITS.lookupMs) {
      problems.push(`address lookups stopped after ${ROUTE_LIMITS.lookupMs / 1000} s, before ${m.exchange}`);
      break;
    }
    targets.push(...(await addressesOf(client, m.exchange, 25, answer.security, problems, sort)).targets);
  }
  if (targets.length > ROUTE_LIMITS.addresses) {
    problems.push(`${targets.length} addresses for the MX hosts; only the first ${ROUTE_LIMITS.addresses} are tried`);
    targets = targets.slice(0, ROUTE_LIMITS.addresses);
  }
  if (targets.length === 0) {
    throw new RouteError(`no ${wantedAddress(sort)} found for the mail exchangers of ${d}${problems.length ? ` (${problems.join('; ')})` : ''}`, false);
  }
  return { targets, via, mxSecurity: answer.security, problems };
}

const familyWord = (sort: IpSort) => (sort.endsWith('ipv6') ? 'IPv6' : 'IPv4');

/** What a route lacked when it has no target: "address", or under Require the family and why. */
const wantedAddress = (sort: IpSort) => (sort.startsWith('require') ? `${familyWord(sort)} address (IP sort preference ${sort})` : 'address');
