import { type DomainTlsRow, deliveriesOf } from '../../control/status.js';
import { amendDestination } from '../../store/destinations/edits.js';
import { deliveryChart } from '../chart.js';
import { done, edit, field, type GuiDeps, render, type Router } from '../gui.js';

/**
 * Reporting > TLS Report: each destination domain's deliveries over the last days or hours (tlsreport),
 * sortable, as CSV, and the suggestions: accepting one stages it as a pending change. Below, what
 * arrived (tlsreport inbound): by sending domain and by client host, with failed TLS sessions.
 */

const SORTS = ['deliveries', 'domain', 'encrypted', 'failed'] as const;
type Sort = (typeof SORTS)[number];

const encrypted = (r: DomainTlsRow) => deliveriesOf(r) - r.messages.clear - r.messages.failed;

/** The period a page shows: `hours=N` (1-24, clock hours) or `days=N` (1-31, 30 when absent or wrong). */
type Span = { days: number } | { hours: number };
/** The choices the period list offers. */
const SPANS: Span[] = [{ hours: 1 }, { hours: 24 }, { days: 1 }, { days: 7 }, { days: 30 }, { days: 31 }];

function spanOf(source: Record<string, unknown>): Span {
  const whole = (v: unknown, max: number) => {
    const n = Number(v);
    return Number.isInteger(n) && n >= 1 && n <= max ? n : undefined;
  };
  const hours = whole(source.hours, 24);
  return hours ? { hours } : { days: whole(source.days, 31) ?? 30 };
}

/** The span as a query string, and in words. */
const query = (span: Span) => ('hours' in span ? `hours=${span.hours}` : `days=${span.days}`);
const words = (span: Span) => ('hours' in span ? (span.hours === 1 ? 'this hour' : `the last ${span.hours} hours`) : `the last ${span.days} day${span.days === 1 ? '' : 's'}`);

/** What every TLS report page's template needs of its period. */
function periodView(span: Span) {
  return { q: query(span), period: words(span), hours: 'hours' in span, days: 'days' in span ? span.days : undefined, spans: SPANS.map((s) => ({ q: query(s), label: words(s), selected: query(s) === query(span) })) };
}

function sorted(rows: DomainTlsRow[], sort: Sort): DomainTlsRow[] {
  const by: Record<Sort, (a: DomainTlsRow, b: DomainTlsRow) => number> = {
    deliveries: (a, b) => deliveriesOf(b) - deliveriesOf(a),
    domain: (a, b) => a.domain.localeCompare(b.domain),
    encrypted: (a, b) => encrypted(a) / Math.max(1, deliveriesOf(a)) - encrypted(b) / Math.max(1, deliveriesOf(b)),
    failed: (a, b) => b.messages.failed - a.messages.failed,
  };
  return [...rows].sort((a, b) => by[sort](a, b) || a.domain.localeCompare(b.domain));
}

/** One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break; a leading =+-@ is defused for spreadsheets. */
const csv = (v: string | number) => {
  const s = String(v).replace(/^[=+\-@]/, "'$&");
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function tlsReportRoutes(router: Router, _deps: GuiDeps): void {
  router.get('/tls-report', async (page) => {
    const span = spanOf(page.req.query as Record<string, unknown>);
    const sortParam = String((page.req.query as Record<string, unknown>).sort ?? 'deliveries');
    const sort: Sort = (SORTS as readonly string[]).includes(sortParam) ? (sortParam as Sort) : 'deliveries';
    const { rows, suggestions, note } = await page.call('tls-statistics', span);
    const inbound = await page.call('tls-statistics', { ...span, direction: 'inbound' });
    const received = (r: DomainTlsRow) => ({
      name: r.domain,
      total: r.messages.clear + r.messages.tls,
      clear: r.messages.clear,
      tls: r.messages.tls,
      encrypted: r.messages.clear + r.messages.tls ? `${Math.floor((r.messages.tls * 100) / (r.messages.clear + r.messages.tls))} %` : '-',
      failures: Object.entries(r.failures).map(([why, n]) => `${why} ${n}`).join(', '),
    });
    return render(page, 'tlsReport', {
      senders: inbound.rows.map(received),
      hosts: (inbound.hosts ?? []).map(received),
      title: 'TLS Report',
      ...periodView(span),
      note,
      sort,
      rows: sorted(rows, sort).map((r) => ({
        domain: r.domain,
        total: deliveriesOf(r),
        ...r.messages,
        mtaSts: r.messages['mta-sts'],
        verifiable: r.verifiable,
        encrypted: deliveriesOf(r) ? `${Math.floor((encrypted(r) * 100) / deliveriesOf(r))} %` : '-',
        failures: Object.entries(r.failures).map(([why, n]) => `${why} ${n}`).join(', '),
      })),
      suggestions,
    });
  });

  // One domain: its totals, a bar per day by TLS outcome, why connections carried nothing, its suggestion.
  router.get('/tls-report/domain', async (page) => {
    const span = spanOf(page.req.query as Record<string, unknown>);
    const name = String((page.req.query as Record<string, unknown>).name ?? '').toLowerCase();
    const { rows, suggestions, series = [], note } = await page.call('tls-statistics', { ...span, domain: name });
    const row = rows[0];
    return render(page, 'tlsDomain', {
      title: `TLS Report: ${name}`,
      ...periodView(span),
      note,
      name,
      total: row ? deliveriesOf(row) : 0,
      mxHosts: (row?.mxHosts ?? []).join(', '),
      failures: row ? Object.entries(row.failures).map(([why, n]) => `${why} ${n}`).join(', ') : '',
      chart: deliveryChart(series, { width: 720, height: 160 }, 'hours' in span ? 'hour' : 'day'),
      suggestions,
    });
  });

  router.get('/tls-report.csv', async (page) => {
    const span = spanOf(page.req.query as Record<string, unknown>);
    const { rows } = await page.call('tls-statistics', span);
    const lines = [['domain', 'deliveries', 'clear', 'tls', 'tls_would_verify', 'verified', 'dane', 'mta_sts', 'failed', 'connection_failures'].join(',')];
    for (const r of rows) {
      const m = r.messages;
      lines.push([r.domain, deliveriesOf(r), m.clear, m.tls, r.verifiable, m.verified, m.dane, m['mta-sts'], m.failed, Object.entries(r.failures).map(([why, n]) => `${why}: ${n}`).join('; ')].map(csv).join(','));
    }
    return page.reply.type('text/csv; charset=utf-8').header('Content-Disposition', `attachment; filename="tls-report-${'hours' in span ? `${span.hours}h` : `${span.days}d`}.csv"`).send(`${lines.join('\r\n')}\r\n`);
  });

  // Accepting a suggestion: the engine's suggestions now, the one named by its command, staged like any
  // edit; on a domain with a change pending already (another suggestion accepted), both are kept.
  router.post('/tls-report/accept', async (page) => {
    const span = spanOf({ days: field(page.form, 'days') });
    const { suggestions } = await page.call('tls-statistics', span);
    const chosen = suggestions.find((s) => s.command === field(page.form, 'command'));
    if (!chosen) return done(page, `/tls-report?${query(span)}`, 'error', 'That suggestion no longer holds (the evidence or the settings changed); nothing was staged.');
    return edit(page, `/tls-report?${query(span)}`, (draft) => amendDestination(draft, chosen.entry, chosen.changes), `Staged: ${chosen.command}.`);
  });
}
