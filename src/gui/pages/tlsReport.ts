import { type DomainTlsRow, deliveriesOf } from '../../control/status.js';
import { putDestination } from '../../store/destinations/edits.js';
import { deliveryChart } from '../chart.js';
import { done, edit, field, type GuiDeps, type Page, render, type Router } from '../gui.js';

/**
 * Reporting > TLS Report: each destination domain's deliveries over the last days (tlsreport),
 * sortable, as CSV, and the suggestions: accepting one stages it as a pending change. Below, what
 * arrived (tlsreport inbound): by sending domain and by client host, with failed TLS sessions.
 */

const SORTS = ['deliveries', 'domain', 'encrypted', 'failed'] as const;
type Sort = (typeof SORTS)[number];

const encrypted = (r: DomainTlsRow) => deliveriesOf(r) - r.messages.clear - r.messages.failed;

function daysOf(page: Page): number {
  const n = Number((page.req.query as Record<string, unknown>).days ?? 30);
  return Number.isInteger(n) && n >= 1 && n <= 31 ? n : 30;
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
    const days = daysOf(page);
    const sortParam = String((page.req.query as Record<string, unknown>).sort ?? 'deliveries');
    const sort: Sort = (SORTS as readonly string[]).includes(sortParam) ? (sortParam as Sort) : 'deliveries';
    const { rows, suggestions } = await page.call('tls-statistics', { days });
    const inbound = await page.call('tls-statistics', { days, direction: 'inbound' });
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
      days,
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
    const days = daysOf(page);
    const name = String((page.req.query as Record<string, unknown>).name ?? '').toLowerCase();
    const { rows, suggestions, byDay = [] } = await page.call('tls-statistics', { days, domain: name });
    const row = rows[0];
    return render(page, 'tlsDomain', {
      title: `TLS Report: ${name}`,
      days,
      name,
      total: row ? deliveriesOf(row) : 0,
      failures: row ? Object.entries(row.failures).map(([why, n]) => `${why} ${n}`).join(', ') : '',
      chart: deliveryChart(byDay, { width: 720, height: 160 }, 'day'),
      suggestions,
    });
  });

  router.get('/tls-report.csv', async (page) => {
    const days = daysOf(page);
    const { rows } = await page.call('tls-statistics', { days });
    const lines = [['domain', 'deliveries', 'clear', 'tls', 'tls_would_verify', 'verified', 'dane', 'mta_sts', 'failed', 'connection_failures'].join(',')];
    for (const r of rows) {
      const m = r.messages;
      lines.push([r.domain, deliveriesOf(r), m.clear, m.tls, r.verifiable, m.verified, m.dane, m['mta-sts'], m.failed, Object.entries(r.failures).map(([why, n]) => `${why}: ${n}`).join('; ')].map(csv).join(','));
    }
    return page.reply.type('text/csv; charset=utf-8').header('Content-Disposition', `attachment; filename="tls-report-${days}d.csv"`).send(`${lines.join('\r\n')}\r\n`);
  });

  // Accepting a suggestion: the engine's suggestions now, the one named by its command, staged like any edit.
  router.post('/tls-report/accept', async (page) => {
    const days = Number(field(page.form, 'days')) || 30;
    const { suggestions } = await page.call('tls-statistics', { days: Math.min(31, Math.max(1, days)) });
    const chosen = suggestions.find((s) => s.command === field(page.form, 'command'));
    if (!chosen) return done(page, `/tls-report?days=${days}`, 'error', 'That suggestion no longer holds (the evidence or the settings changed); nothing was staged.');
    return edit(page, `/tls-report?days=${days}`, (draft) => putDestination(draft, chosen.entry, { create: chosen.create }), `Staged: ${chosen.command}.`);
  });
}
