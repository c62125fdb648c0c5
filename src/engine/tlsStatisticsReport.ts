import type { Params, Results } from '../control/protocol.js';
import type { DeliverySettings } from '../store/destinations/destinations.js';
import { type Bucket, type DomainTlsStatistics, type SharedTlsStatistics, type Span, spanSince } from './delivery/domainTlsStatistics.js';
import { mtaStsCandidates, mtaStsSuggestion, tlsSuggestions } from './delivery/tlsSuggestions.js';
import type { InboundTlsStatistics } from './listener/inboundTlsStatistics.js';
import type { StsPolicy } from './mtasts/parse.js';

/** What tlsreport reads: this gateway's counts, the cluster's when it is a member, the settings and the partners' MTA-STS policies. */
export interface TlsReportSources {
  outbound: DomainTlsStatistics;
  inbound: InboundTlsStatistics;
  delivery: DeliverySettings;
  /** The cluster's pool of counts, when this gateway is a member. */
  pool?: SharedTlsStatistics;
  /** A domain's MTA-STS policy in force (the delivery's cache, fetched when not there), null when none. */
  stsPolicy: (domain: string) => Promise<StsPolicy | null>;
}

/**
 * tlsreport: the counts of a span, the other cluster members' added in; for outbound days, the
 * suggestions the evidence allows (hours are too short to tighten a partner's setting on).
 */
export async function tlsStatisticsReport(req: Params<'tls-statistics'>, s: TlsReportSources, now = Date.now()): Promise<Results['tls-statistics']> {
  const span: Span = req.hours ? { hours: req.hours } : { days: req.days ?? 30 };
  const since = spanSince(span, now);
  let note: string | undefined;
  const others = async (stats: DomainTlsStatistics): Promise<[string, Bucket][]> => {
    try {
      return (await s.pool?.others(stats.kind)) ?? [];
    } catch (err) {
      note = `Only this gateway's figures: the other cluster members' cannot be read (${(err as Error).message}).`;
      return [];
    }
  };
  const noted = () => (note ? { note } : {});
  if (req.direction === 'inbound') {
    const rows = req.host ? [] : s.inbound.senders.query(span, req.domain, await others(s.inbound.senders));
    const hosts = req.domain ? [] : s.inbound.hosts.query(span, req.host, await others(s.inbound.hosts));
    return { since, rows, suggestions: [], hosts, ...noted() };
  }
  const shared = await others(s.outbound);
  const rows = s.outbound.query(span, req.domain, shared);
  const suggestions = 'days' in span ? await suggest(rows, s, `${span.days} day${span.days === 1 ? '' : 's'}`) : [];
  return { since, rows, suggestions, ...(req.domain ? { series: s.outbound.series(span, req.domain, shared) } : {}), ...noted() };
}

/** The suggestions, domain by domain in the rows' order; MTA-STS ones need the partner's policy. */
async function suggest(rows: Results['tls-statistics']['rows'], s: TlsReportSources, period: string): Promise<Results['tls-statistics']['suggestions']> {
  const out = tlsSuggestions(rows, s.delivery, period);
  const candidates = mtaStsCandidates(rows, s.delivery);
  const policies = await Promise.all(candidates.map((r) => s.stsPolicy(r.domain).catch(() => null)));
  for (const [i, r] of candidates.entries()) {
    const found = mtaStsSuggestion(r, policies[i] ?? null, s.delivery, period);
    if (found) out.push(found);
  }
  const order = new Map(rows.map((r, i) => [r.domain, i]));
  return out.sort((a, b) => (order.get(a.domain) ?? 0) - (order.get(b.domain) ?? 0));
}
