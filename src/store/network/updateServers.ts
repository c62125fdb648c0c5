import { createHash } from 'node:crypto';
import net from 'node:net';
import { canonicalName } from '../domainMatch.js';
import { editConfig } from '../edit.js';
import { domainProblem } from '../grammar.js';
import { type Config, ConfigError } from '../schema.js';
import { parseHostPort } from './routing.js';

/**
 * dnsconfig update-server: the primary of a zone that takes the appliance's dynamic updates
 * (RFC 2136: TLSA records for a new key, ACME DNS-01 TXT records), and the TSIG key that signs them.
 * The key's secret is a credential: it lives in keys/ (0600) under a reference, like a private key,
 * never in the configuration document.
 */

export interface TsigKeyFile {
  name: string;
  secret: Buffer;
}

/** Shortest secret accepted: RFC 8945 §6 asks for keys at least as long as the hash (32 bytes for SHA-256); 16 is the floor tools accept. */
const MIN_SECRET_BYTES = 16;

/**
 * Read a TSIG key in any of the forms the DNS servers' tools write: Knot's `keymgr -t` (YAML
 * `id:` / `algorithm:` / `secret:`), BIND's `tsig-keygen` (`key "name" { algorithm …; secret "…"; };`)
 * or the one-line `hmac-sha256:name:secret` of kdig -y / nsupdate -y. Only HMAC-SHA256.
 */
export function parseTsigKey(text: string): TsigKeyFile {
  const line = /^\s*(?:#\s*)?(hmac-[a-z0-9-]+):([^:\s]+):([A-Za-z0-9+/=]+)\s*$/m.exec(text);
  const yaml = /\bid:\s*"?([^\s"]+)"?[\s\S]*?\balgorithm:\s*"?([a-z0-9-]+)"?[\s\S]*?\bsecret:\s*"?([A-Za-z0-9+/=]+)"?/.exec(text);
  const bind = /\bkey\s+"?([^\s"{]+)"?\s*\{[\s\S]*?\balgorithm\s+"?([a-z0-9-]+)"?\s*;[\s\S]*?\bsecret\s+"([A-Za-z0-9+/=]+)"\s*;/.exec(text);
  const found = line ? { algorithm: line[1]!, name: line[2]!, secret: line[3]! } : yaml ? { name: yaml[1]!, algorithm: yaml[2]!, secret: yaml[3]! } : bind ? { name: bind[1]!, algorithm: bind[2]!, secret: bind[3]! } : undefined;
  if (!found) throw new ConfigError('The TSIG key file is not in a known form (Knot keymgr -t, BIND tsig-keygen, or hmac-sha256:NAME:SECRET).');
  if (found.algorithm.toLowerCase() !== 'hmac-sha256') throw new ConfigError(`The TSIG key "${found.name}" uses ${found.algorithm}; only hmac-sha256 is supported (make one with "keymgr -t NAME hmac-sha256").`);
  const name = canonicalName(found.name);
  const problem = domainProblem(name, { subdomains: false });
  if (problem) throw new ConfigError(`The TSIG key name "${found.name}": ${problem}`);
  const secret = Buffer.from(found.secret, 'base64');
  if (secret.toString('base64').replace(/=+$/, '') !== found.secret.replace(/=+$/, '')) throw new ConfigError(`The secret of TSIG key "${name}" is not valid base64.`);
  if (secret.length < MIN_SECRET_BYTES) throw new ConfigError(`The secret of TSIG key "${name}" is ${secret.length} bytes; it must be at least ${MIN_SECRET_BYTES} (32 recommended).`);
  return { name, secret };
}

/** The stored form of a TSIG key (the one-line form, which parseTsigKey reads back). */
export const tsigKeyText = (k: TsigKeyFile): string => `hmac-sha256:${k.name}:${k.secret.toString('base64')}\n`;

/** The reference a TSIG key is stored under: "tsig-" and the SHA-256 of its stored form. */
export const tsigKeyRef = (k: TsigKeyFile): string => `tsig-${createHash('sha256').update(tsigKeyText(k)).digest('hex')}`;

export function setUpdateServer(config: Config, zone: string, server: string, key: { name: string; ref: string }): Config {
  const z = canonicalName(zone);
  const problem = domainProblem(z, { subdomains: false });
  if (problem) throw new ConfigError(`Zone "${zone}": ${problem}`);
  const { host, port } = parseHostPort(server, 53);
  if (net.isIP(host) === 0) throw new ConfigError(`The update server "${server}" must be an IP address (with an optional :PORT): updates are not sent to a name that DNS itself resolves.`);
  return editConfig(config, (draft) => {
    draft.dns.updateServers = draft.dns.updateServers.filter((u) => u.zone !== z);
    draft.dns.updateServers.push({ zone: z, server: net.isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`, keyName: key.name, keyRef: key.ref });
    draft.dns.updateServers.sort((a, b) => a.zone.localeCompare(b.zone));
  });
}

export function deleteUpdateServer(config: Config, zone: string): Config {
  const z = canonicalName(zone);
  if (!config.dns.updateServers.some((u) => u.zone === z)) throw new ConfigError(`There is no update server for zone ${z}.${config.dns.updateServers.length ? ` There are: ${config.dns.updateServers.map((u) => u.zone).join(', ')}.` : ''}`);
  return editConfig(config, (draft) => {
    draft.dns.updateServers = draft.dns.updateServers.filter((u) => u.zone !== z);
  });
}

export type UpdateServer = Config['dns']['updateServers'][number];

/** The update server of the closest enclosing zone of `name`, if one is configured. */
export function updateServerFor(servers: readonly UpdateServer[], name: string): UpdateServer | undefined {
  const n = canonicalName(name);
  return servers
    .filter((u) => n === u.zone || n.endsWith(`.${u.zone}`))
    .sort((a, b) => b.zone.length - a.zone.length)[0];
}
