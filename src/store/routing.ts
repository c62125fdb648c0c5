import net from 'node:net';
import { editConfig } from './edit.js';
import { type Config, ConfigError } from './schema.js';

/** smtproutes and dnsconfig edits. */

export function parseHostPort(value: string, defaultPort: number): { host: string; port: number } {
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  const plain = /^([^:]+)(?::(\d+))?$/.exec(value);
  const m = bracket ?? (net.isIP(value) === 6 ? [value, value, undefined] : plain);
  if (!m) throw new ConfigError(`"${value}" is not HOST[:PORT].`);
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConfigError(`"${value}": the port must be 1-65535.`);
  return { host: m[1]!, port };
}

export function putRoute(config: Config, domain: string, hosts: { host: string; port: number }[]): Config {
  return editConfig(config, (draft) => {
    draft.smtpRoutes = draft.smtpRoutes.filter((r) => r.domain.toLowerCase() !== domain.toLowerCase());
    draft.smtpRoutes.push({ domain, hosts });
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
