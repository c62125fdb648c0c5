import type { Config } from '../../store/schema.js';
import { parseTrustAnchor } from '../../store/network/trustAnchors.js';
import { DnsClient, parseServer } from './client.js';
import { resolvers } from './resolvers.js';

/**
 * Do the configured resolvers let DNSSEC work the way `dnsconfig validation` says? Each is asked for
 * the DNSKEY records of the first trust anchor's zone (the root, normally):
 * - builtin: the answer must carry the DNSKEYs with their RRSIGs (with checking disabled); a
 *   resolver that strips them makes every signed name fail validation;
 * - resolver: the answer must carry AD (the resolver validates).
 * Each problem is one line naming the resolver; never a silent "insecure".
 */
export async function resolverProblems(config: Config, timeoutMs = 2000): Promise<string[]> {
  const builtin = config.dns.validation === 'builtin';
  const anchor = config.dns.trustAnchors[0];
  if (!anchor) return builtin ? ['There are no DNSSEC trust anchors: every answer counts as insecure and DANE finds nothing secure ("dnsconfig trustanchor add").'] : [];
  const zone = parseTrustAnchor(anchor).zone || '.';
  const problems = await Promise.all(
    resolvers(config).map(async (spec) => {
      const server = parseServer(spec);
      const name = `DNS server ${server.host}:${server.port}`;
      const client = new DnsClient([server], timeoutMs);
      try {
        if (builtin) {
          const p = await client.packet(zone, 'DNSKEY');
          if (p.rcode !== 'NOERROR' || !p.answers.some((a) => a.type === 'DNSKEY')) return `${name} gives no DNSKEY records for ${zone} (${p.rcode}): DNSSEC cannot be validated through it, so DANE lookups fail (BOGUS).`;
          if (!p.answers.some((a) => a.type === 'RRSIG')) return `${name} strips DNSSEC records (the DNSKEY records of ${zone} come without RRSIG): every signed name fails validation, so DANE lookups fail (BOGUS).`;
        } else {
          const r = await client.query(zone, 'DNSKEY');
          if (!r.authentic) return `${name} does not validate DNSSEC (no AD for the DNSKEY records of ${zone}): DANE finds nothing secure through it; use "dnsconfig validation builtin".`;
        }
        return undefined;
      } catch (err) {
        return `${name} does not answer (${(err as Error).message}).`;
      }
    }),
  );
  return problems.filter((p): p is string => p !== undefined);
}
