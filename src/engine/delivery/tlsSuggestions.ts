import { type DomainTlsRow, deliveriesOf, type TlsSuggestion } from '../../control/status.js';
import { type DeliverySettings, type Destination, destinationFor } from '../../store/destinations/destinations.js';
import { policyMatches, type StsPolicy } from '../mtasts/parse.js';
import { MORE_HOSTS, OTHER } from './domainTlsStatistics.js';

/**
 * What the evidence allows tightening, domain by domain, with the exact command: only where every
 * delivery in the period was authenticated the stricter way, so the stricter setting would have
 * failed none of them. A connection that could not be made at all does not count against it.
 */
export const MIN_DELIVERIES = 10;
/** At most this many domains' MTA-STS policies are looked up for one report (most deliveries first). */
export const MTA_STS_LOOKUPS = 20;

/** Every delivery of the period (enough of them) was authenticated: by DANE, or PKIX with the MX name. */
function allAuthenticated(r: DomainTlsRow): boolean {
  const trouble = Object.entries(r.failures).some(([why, n]) => why !== 'no connection' && (n ?? 0) > 0);
  // Unchecked TLS counts as evidence only where the certificate was looked at and verified.
  return r.domain !== OTHER && deliveriesOf(r) >= MIN_DELIVERIES && !trouble && !r.messages.failed && !r.messages.clear && r.messages.tls <= r.verifiable;
}

const evidence = (r: DomainTlsRow, period: string) => `${deliveriesOf(r)} deliveries over ${period}`;

/** `period`: "30 days", said in the evidence. */
export function tlsSuggestions(rows: DomainTlsRow[], delivery: DeliverySettings, period: string): TlsSuggestion[] {
  const out: TlsSuggestion[] = [];
  for (const r of rows) {
    if (!allAuthenticated(r)) continue;
    const total = deliveriesOf(r);
    const now = destinationFor(delivery, r.domain);
    if (now.tls !== 'required-verify' && now.tls !== 'required-verify-hosted') {
      const how = r.verifiable ? 'with a certificate that verified' : 'over verified TLS';
      out.push({ domain: r.domain, evidence: `${evidence(r, period)}, every one ${how}`, ...change(delivery, r.domain, { tls: 'required-verify' }) });
    }
    // DANE outcomes come from Opportunistic; Mandatory needs TLS on, which DANE outcomes imply.
    if (r.messages.dane === total && now.dane === 'opportunistic' && now.tls !== 'no') {
      out.push({ domain: r.domain, evidence: `${evidence(r, period)}, every one DANE-authenticated`, ...change(delivery, r.domain, { dane: 'mandatory' }) });
    }
  }
  return out;
}

/**
 * The domains worth an MTA-STS lookup: MTA-STS not used for them yet, and every delivery went to a
 * known MX host over TLS whose certificate verified with the MX name (PKIX, which MTA-STS demands;
 * DANE-only evidence says nothing of it, a "hosted" check verified another name).
 */
export function mtaStsCandidates(rows: DomainTlsRow[], delivery: DeliverySettings): DomainTlsRow[] {
  return rows
    .filter((r) => {
      const now = destinationFor(delivery, r.domain);
      const hosts = r.mxHosts ?? [];
      return allAuthenticated(r) && !r.messages.dane && now.mtaSts === 'no' && now.tls !== 'no' && now.tls !== 'required-verify-hosted' && hosts.length > 0 && !hosts.includes(MORE_HOSTS);
    })
    .slice(0, MTA_STS_LOOKUPS);
}

/**
 * "--mta-sts yes" for a candidate whose policy is in enforce mode and names every MX host that took
 * its mail: enforcing it would have failed none of the period's deliveries.
 */
export function mtaStsSuggestion(r: DomainTlsRow, policy: StsPolicy | null, delivery: DeliverySettings, period: string): TlsSuggestion | undefined {
  const hosts = r.mxHosts ?? [];
  if (policy?.mode !== 'enforce' || !hosts.every((h) => policyMatches(policy, h))) return undefined;
  return {
    domain: r.domain,
    evidence: `${evidence(r, period)}, every one over verified TLS to ${hosts.join(', ')}, each named by its MTA-STS policy (enforce)`,
    ...change(delivery, r.domain, { mtaSts: 'yes' }),
  };
}

/**
 * The destconfig line that makes the change and keeps the rest: EDIT replaces an entry with what it
 * is given, so the entry's other settings are repeated.
 */
function change(delivery: DeliverySettings, domain: string, changed: Partial<Destination>): { command: string; entry: Destination; create: boolean; changes: Partial<Destination> } {
  const exact = delivery.destinations.find((d) => d.domain.toLowerCase() === domain);
  const now = destinationFor(delivery, domain);
  // A new entry inherits from the default entry: it repeats only what a ".domain" entry gave it.
  const inherited = { ...(now.dane !== delivery.defaults.dane ? { dane: now.dane } : {}), ...(now.mtaSts !== delivery.defaults.mtaSts ? { mtaSts: now.mtaSts } : {}) };
  const entry: Destination = exact ? { ...exact, ...changed } : { domain, tls: now.tls, ...inherited, ...changed };
  const o: string[] = [`--tls ${entry.tls ?? 'default'}`];
  if (entry.dane) o.push(`--dane ${entry.dane}`);
  if (entry.mtaSts) o.push(`--mta-sts ${entry.mtaSts}`);
  if (entry.maxConcurrency !== undefined) o.push(`--max-concurrency ${entry.maxConcurrency}`);
  if (entry.messagesPerConnection !== undefined) o.push(`--messages-per-connection ${entry.messagesPerConnection}`);
  if (entry.recipientLimit !== undefined) o.push(`--recipient-limit ${entry.recipientLimit ? `${entry.recipientLimit.recipients}/${entry.recipientLimit.minutes}` : 'none'}`);
  if (entry.bounceProfile !== undefined) o.push(`--bounce-profile ${entry.bounceProfile}`);
  return { command: `destconfig ${exact ? 'edit' : 'new'} ${entry.domain} ${o.join(' ')}`, entry, create: !exact, changes: changed };
}
