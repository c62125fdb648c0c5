import net from 'node:net';
import { type DomainTlsRow, deliveriesOf, TLS_OUTCOMES } from '../../control/status.js';
import { type Command, noMoreWords, parseOptions } from '../../shell/command.js';
import type { Session } from '../../shell/session.js';
import { formatTable } from '../../shell/table.js';
import { optionalCount } from '../../store/answers.js';

const USAGE = ['tlsreport [outbound] [DOMAIN] [--days N]', 'tlsreport inbound [DOMAIN|ADDRESS] [--days N]'];
const percent = (part: number, whole: number) => (whole ? `${Math.floor((part * 100) / whole)} %` : '-');

export const tlsreport: Command = {
  name: 'tlsreport',
  summary: "Each destination domain's TLS over the last days, and what the evidence allows tightening",
  usage: USAGE,
  keywords: ['outbound', 'inbound'],
  details: [
    'Per destination domain: delivery attempts (a retried message counts each time) by how the session',
    'that carried them went: clear, TLS not verified, TLS verified (CA lists), DANE, MTA-STS, or failed;',
    'and the connections that carried nothing, by why. Kept for 31 days across restarts (--days, 1 to 31;',
    '30 by default).',
    'A suggestion is made only when every delivery of the period (at least 10) was authenticated the',
    'stricter way, so the stricter setting would have failed none: it names the destconfig command.',
    'Preferred and Required do not require a certificate check, but the certificate is looked at all the',
    'same: "(would verify)" counts the TLS deliveries whose certificate verified, which is evidence too.',
    'Inbound: the messages received, by sending domain (MAIL FROM) and by client host, in clear or over',
    'TLS, and the sessions whose TLS failed (a broken handshake, or TLS required and never started), by',
    'client host: who would be refused if TLS became Required for their sender group.',
  ],
  async run(session, args) {
    const { values, positionals } = parseOptions(this, args, { days: { type: 'string' } });
    const inbound = positionals[0]?.toLowerCase() === 'inbound';
    const words = inbound || positionals[0]?.toLowerCase() === 'outbound' ? positionals.slice(1) : positionals;
    noMoreWords(this, words.slice(1));
    const days = optionalCount(values.days, '--days', { min: 1, max: 31 }) ?? 30;
    if (inbound) return inboundReport(session, days, words[0]);
    const domain = words[0]?.toLowerCase().replace(/\.$/, '');
    const { rows, suggestions, byDay = [] } = await session.call('tls-statistics', { days, ...(domain ? { domain } : {}) });
    const io = session.io;
    const period = `the last ${days} day${days === 1 ? '' : 's'}`;
    if (!rows.length) return io.print(domain ? `No delivery to ${domain} in ${period}.` : `No deliveries in ${period}.`);
    io.print(`Deliveries by destination domain, ${period} (attempts; a retried message counts each time):`);
    io.print(
      ...formatTable(
        ['Domain', 'Deliveries', 'Clear', 'TLS', '(would verify)', 'Verified', 'DANE', 'MTA-STS', 'Failed', 'Encrypted'],
        rows.map((r) => {
          const n = deliveriesOf(r);
          const m = r.messages;
          return [r.domain, String(n), String(m.clear), String(m.tls), String(r.verifiable), String(m.verified), String(m.dane), String(m['mta-sts']), String(m.failed), percent(n - m.clear - m.failed, n)];
        }),
      ),
    );
    const active = byDay.filter((d) => TLS_OUTCOMES.some((o) => d[o] > 0));
    if (active.length) {
      io.print('', 'Day by day (UTC; days without a delivery left out):');
      io.print(...formatTable(['Day', 'Deliveries', 'Clear', 'TLS', 'Verified', 'DANE', 'MTA-STS', 'Failed'], active.map((d) => [d.hour.slice(0, 10), String(TLS_OUTCOMES.reduce((n, o) => n + d[o], 0)), String(d.clear), String(d.tls), String(d.verified), String(d.dane), String(d['mta-sts']), String(d.failed)])));
    }
    const failing = rows.filter((r) => Object.keys(r.failures).length);
    if (failing.length) {
      io.print('', 'Connections that carried nothing:');
      for (const r of failing) io.print(`  ${r.domain}: ${Object.entries(r.failures).map(([why, n]) => `${why} ${n}`).join(', ')}`);
    }
    if (suggestions.length) {
      io.print('', 'Suggestions (no delivery of the period would have failed):');
      for (const s of suggestions) io.print(`  ${s.domain}: ${s.evidence}`, `    ${s.command}`);
    }
  },
};

/** tlsreport inbound: by sending domain, then by client host (an address argument shows only that host). */
async function inboundReport(session: Session, days: number, which?: string): Promise<void> {
  const filter = which === undefined ? {} : net.isIP(which) ? { host: which.toLowerCase() } : { domain: which.toLowerCase().replace(/\.$/, '') };
  const { rows, hosts = [] } = await session.call('tls-statistics', { days, direction: 'inbound', ...filter });
  const io = session.io;
  const period = `the last ${days} day${days === 1 ? '' : 's'}`;
  const received = (r: DomainTlsRow) => r.messages.clear + r.messages.tls;
  if (!rows.length && !hosts.length) return io.print(which ? `Nothing received from ${which} in ${period}.` : `Nothing received in ${period}.`);
  if (rows.length) {
    io.print(`Messages received by sending domain, ${period}:`);
    io.print(...formatTable(['Sending domain', 'Messages', 'Clear', 'TLS', 'Encrypted'], rows.map((r) => [r.domain, String(received(r)), String(r.messages.clear), String(r.messages.tls), percent(r.messages.tls, received(r))])));
  }
  if (hosts.length) {
    if (rows.length) io.print('');
    io.print(`Messages received by client host, ${period}, and sessions whose TLS failed:`);
    const failed = (r: DomainTlsRow) => Object.entries(r.failures).map(([why, n]) => `${why} ${n}`).join(', ') || '-';
    io.print(...formatTable(['Client host', 'Messages', 'Clear', 'TLS', 'Encrypted', 'TLS failed'], hosts.map((r) => [r.domain, String(received(r)), String(r.messages.clear), String(r.messages.tls), percent(r.messages.tls, received(r)), failed(r)])));
  }
}
