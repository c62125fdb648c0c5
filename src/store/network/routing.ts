import net from 'node:net';
import { editConfig } from '../edit.js';
import { hostnameProblem } from '../grammar.js';
import { type Config, ConfigError } from '../schema.js';

/** smtproutes and dnsconfig edits. */

/** HOST:PORT as parseHostPort reads it back (an IPv6 address in brackets). */
export const hostPortText = (h: { host: string; port: number }): string => `${net.isIP(h.host) === 6 ? `[${h.host}]` : h.host}:${h.port}`;

export function parseHostPort(value: string, defaultPort: number): { host: string; port: number } {
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  const plain = /^([^:]+)(?::(\d+))?$/.exec(value);
  const m = bracket ?? (net.isIP(value) === 6 ? [value, value, undefined] : plain);
  if (!m) throw new ConfigError(`"${value}" is not HOST[:PORT].`);
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConfigError(`"${value}": the port must be 1-65535.`);
  const host = m[1]!;
  if (net.isIP(host) === 0) {
    const problem = hostnameProblem(host);
    if (problem) throw new ConfigError(problem);
  }
  return { host, port };
}

const LOOPBACK = new net.BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** An address on this machine (127.0.0.0/8, ::1): the only resolvers whose AD bit is trusted. */
export function isLoopback(host: string): boolean {
  const family = net.isIP(host);
  return family !== 0 && LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

export function putRoute(config: Config, domain: string, hosts: { host: string; port: number }[]): Config {
  return editConfig(config, (draft) => {
    // A changed route keeps its place in the list (the dialog numbers them); a new one goes last.
    const at = draft.smtpRoutes.findIndex((r) => r.domain.toLowerCase() === domain.toLowerCase());
    if (at >= 0) draft.smtpRoutes[at] = { domain, hosts };
    else draft.smtpRoutes.push({ domain, hosts });
  });
}

export function deleteRoute(config: Config, domain: string): Config {
  if (!config.smtpRoutes.some((r) => r.domain.toLowerCase() === domain.toLowerCase())) throw new ConfigError(`There is no SMTP route for ${domain}.`);
  return editConfig(config, (draft) => {
    draft.smtpRoutes = draft.smtpRoutes.filter((r) => r.domain.toLowerCase() !== domain.toLowerCase());
  });
}

export function setDnsServers(config: Config, servers: string[]): Config {
  for (const s of servers) {
    const { host } = parseHostPort(s, 53);
    if (net.isIP(host) === 0) throw new ConfigError(`DNS server "${s}" must be an IP address (with an optional :PORT).`);
  }
  return editConfig(config, (draft) => {
    draft.dns.servers = servers;
  });
}

/**
 * In `dnsconfig validation resolver` mode, DANE trusts the AD bit only from a validating resolver on
 * loopback: a warning when DANE is on for some destination and a configured resolver is elsewhere
 * (its answers will count as insecure).
 */
export function daneResolverWarning(config: Config): string | undefined {
  const d = config.delivery;
  if (![d.defaults.dane, ...d.destinations.map((e) => e.dane)].some((m) => m !== undefined && m !== 'none')) return undefined;
  if (config.dns.validation === 'builtin') return undefined; // the engine validates itself, through any resolver
  const remote = config.dns.servers.filter((s) => !isLoopback(parseHostPort(s, 53).host));
  if (remote.length) return `DANE is enabled, but DNS server ${remote.join(', ')} is not on loopback: its DNSSEC answers are not trusted, so DANE will find no secure records (Mandatory destinations will not be delivered). Run a validating resolver (e.g. unbound) on 127.0.0.1 and use "dnsconfig servers 127.0.0.1".`;
  if (config.dns.servers.length === 0) return 'DANE is enabled and the engine uses the system resolvers: DNSSEC answers are trusted only from resolvers on loopback (e.g. unbound on 127.0.0.1; "dnsconfig servers 127.0.0.1").';
  return undefined;
}
