import dns from 'node:dns';
import net from 'node:net';
import type { Config } from '../../store/schema.js';
import type { DnsCache } from './cache.js';
import { DnsClient, type DnsSecurity, parseServer } from './client.js';
import { parseTrustAnchor } from '../../store/network/trustAnchors.js';

/** dnsconfig servers; when it names none, $MXGATE_RESOLVERS (comma-separated), else the system's. */
export function resolvers(config: Config): string[] {
  if (config.dns.servers.length) return config.dns.servers;
  const env = (process.env.MXGATE_RESOLVERS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return env.length ? env : dns.getServers();
}

/**
 * A client for the configured servers; with the engine's cache, lookups are answered from it while
 * they last; `observe` is told each lookup's DNSSEC status.
 */
export function dnsClientFor(config: Config, cache?: DnsCache<unknown>, timeoutMs = 3000, observe?: (security: DnsSecurity) => void): DnsClient {
  const anchors = config.dns.validation === 'builtin' ? config.dns.trustAnchors.map((l) => parseTrustAnchor(l)) : undefined;
  return new DnsClient(resolvers(config).map(parseServer), timeoutMs, cache, anchors, observe);
}

function reverseName(ip: string): string {
  if (net.isIP(ip) === 4) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  const full = new net.SocketAddress({ address: ip, family: 'ipv6' }).address;
  const groups = full.split('::').length === 2 ? expand(full) : full.split(':');
  return `${groups.map((g) => g.padStart(4, '0')).join('').split('').reverse().join('.')}.ip6.arpa`;
}

function expand(ip: string): string[] {
  const [head, tail] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  return [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
}

/**
 * The client's host name for sender groups: the PTR name, trusted ("verified") only when that
 * name resolves back to the address (forward-confirmed), as the appliance logs it.
 */
export async function reverseLookup(config: Config, ip: string, cache?: DnsCache<unknown>): Promise<{ host: string; verified: boolean } | undefined> {
  const client = dnsClientFor(config, cache, 2000);
  try {
    const ptr = await client.query(reverseName(ip), 'PTR');
    const host = ptr.answers.find((a) => a.type === 'PTR') as { data: string } | undefined;
    if (!host) return undefined;
    const forward = await client.query(host.data, net.isIP(ip) === 6 ? 'AAAA' : 'A');
    const verified = forward.answers.some((a) => (a as { data: string }).data === ip);
    return { host: host.data.replace(/\.$/, ''), verified };
  } catch {
    return undefined;
  }
}
