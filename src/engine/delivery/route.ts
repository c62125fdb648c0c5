import dns from 'node:dns';
import net from 'node:net';
import type { Config } from '../../store/schema.js';

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

/** Resolvers when dnsconfig names none: $MXGATE_RESOLVERS (comma-separated), else the system's. */
function defaultResolvers(): string[] {
  return (process.env.MXGATE_RESOLVERS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

const matches = (entry: string, domain: string) => (entry.startsWith('.') ? domain.endsWith(entry.toLowerCase()) : domain === entry.toLowerCase());

/**
 * Where mail for a domain goes: an SMTP route (exact domain, then the longest ".domain"), else
 * the MX hosts in preference order, else the domain itself (implicit MX). A null MX (RFC 7505)
 * is a permanent failure. Name lookups use the dnsconfig servers (or the system's).
 * The engine's own DNS client with DNSSEC status replaces node:dns here for DANE.
 */
export async function resolveTargets(config: Config, domain: string): Promise<Target[]> {
  const d = domain.toLowerCase().replace(/\.$/, '');
  const route = config.smtpRoutes
    .filter((r) => matches(r.domain, d))
    .sort((a, b) => (a.domain.startsWith('.') ? 1 : 0) - (b.domain.startsWith('.') ? 1 : 0) || b.domain.length - a.domain.length)[0];
  if (route) return route.hosts.map((h) => ({ host: h.host, port: h.port, mxHost: h.host }));

  const resolver = new dns.promises.Resolver({ timeout: 5000, tries: 2 });
  const servers = config.dns.servers.length ? config.dns.servers : defaultResolvers();
  if (servers.length) resolver.setServers(servers);
  let mx: dns.MxRecord[];
  try {
    mx = await resolver.resolveMx(d);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTFOUND') throw new RouteError(`domain ${d} does not exist`, true);
    if (code !== 'ENODATA') throw new RouteError(`MX lookup for ${d} failed: ${code ?? (err as Error).message}`, false);
    mx = [{ exchange: d, priority: 0 }];
  }
  if (mx.length === 1 && (mx[0]!.exchange === '' || mx[0]!.exchange === '.')) throw new RouteError(`${d} accepts no mail (null MX, RFC 7505)`, true);
  const targets: Target[] = [];
  for (const m of [...mx].sort((a, b) => a.priority - b.priority)) {
    if (net.isIP(m.exchange)) {
      targets.push({ host: m.exchange, port: 25, mxHost: m.exchange });
      continue;
    }
    const addresses = [
      ...(await resolver.resolve4(m.exchange).catch(() => [] as string[])),
      ...(await resolver.resolve6(m.exchange).catch(() => [] as string[])),
    ];
    for (const a of addresses) targets.push({ host: a, port: 25, mxHost: m.exchange });
  }
  if (targets.length === 0) throw new RouteError(`no address found for the mail exchangers of ${d}`, false);
  return targets;
}
