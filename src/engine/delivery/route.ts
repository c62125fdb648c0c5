import net from 'node:net';
import { canonicalName, mostSpecificEntry } from '../../store/domainMatch.js';
import type { Config } from '../../store/schema.js';
import { dnsClientFor } from '../dns/resolvers.js';

export interface Target {
  /** Address or name to connect to. */
  host: string;
  port: number;
  /** The MX host name (reference identity for certificate checks). */
  mxHost: string;
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


/**
 * Where mail for a domain goes: an SMTP route (exact domain, then the longest ".domain"), else
 * the MX hosts in preference order, else the domain itself (implicit MX). A null MX (RFC 7505)
 * is a permanent failure. Lookups go through the engine's own DNS client (dnsconfig servers).
 */
export async function resolveTargets(config: Config, domain: string): Promise<Target[]> {
  const d = canonicalName(domain);
  const route = mostSpecificEntry(config.smtpRoutes, d);
  if (route) return route.hosts.map((h) => ({ host: h.host, port: h.port, mxHost: h.host }));

  const client = dnsClientFor(config);
  let mx: { exchange: string; priority: number }[];
  let answer;
  try {
    answer = await client.query(d, 'MX');
  } catch (err) {
    throw new RouteError(`MX lookup for ${d} failed: ${(err as Error).message}`, false);
  }
  if (answer.rcode === 'NXDOMAIN') throw new RouteError(`domain ${d} does not exist`, true);
  if (answer.rcode !== 'NOERROR') throw new RouteError(`MX lookup for ${d} failed: ${answer.rcode}`, false);
  mx = answer.answers.filter((a) => a.type === 'MX').map((a) => {
    const data = (a as { data: { preference: number; exchange: string } }).data;
    return { exchange: data.exchange, priority: data.preference };
  });
  if (mx.length === 0) mx = [{ exchange: d, priority: 0 }];
  if (mx.length === 1 && (mx[0]!.exchange === '' || mx[0]!.exchange === '.')) throw new RouteError(`${d} accepts no mail (null MX, RFC 7505)`, true);
  const targets: Target[] = [];
  for (const m of [...mx].sort((a, b) => a.priority - b.priority)) {
    if (net.isIP(m.exchange)) {
      targets.push({ host: m.exchange, port: 25, mxHost: m.exchange });
      continue;
    }
    for (const type of ['A', 'AAAA'] as const) {
      const res = await client.query(m.exchange, type).catch(() => undefined);
      for (const a of res?.answers ?? []) if (a.type === type) targets.push({ host: (a as { data: string }).data, port: 25, mxHost: m.exchange });
    }
  }
  if (targets.length === 0) throw new RouteError(`no address found for the mail exchangers of ${d}`, false);
  return targets;
}
