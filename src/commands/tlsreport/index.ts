import net from 'node:net';
import { type DomainTlsRow, deliveriesOf, TLS_OUTCOMES } from '../../control/status.js';
import { type Command, noMoreWords, parseOptions } from '../../shell/command.js';
import type { Session } from '../../shell/session.js';
import { formatTable } from '../../shell/table.js';
import { optionalCount } from '../../store/answers.js';
import { UserError } from '../../userError.js';

const USAGE = ['tlsreport [outbound] [DOMAIN] [--days N | --hours N]', 'tlsreport inbound [DOMAIN|ADDRESS] [--days N | --hours N]'];

/** The period in words: "the last 30 days", or "since 07:00 UTC" for hours (clock hours, this one included). */
const periodOf = (span: { days: number } | { hours: number }, since: string) => ('days' in span ? `the last ${span.days} day${span.days === 1 ? '' : 's'}` : `since ${since.slice(11, 16)} UTC`);
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
    '30 by default), and hour by hour for the last 24 hours (--hours, 1 to 24: the current UTC clock hour',
    'and the ones before it), to see a change take effect.',
    'A suggestion is made only when every delivery of the period (at least 10 over days, never over',
    'hours) was authenticated the stricter way, so the stricter setting would have failed none: it names',
    'the destconfig command. For MTA-STS, the partner\'s policy is looked up (the delivery\'s cache): it',
    'must be in enforce mode and name every MX host that took the mail.',
    'In a cluster, the figures are the whole cluster\'s: each member shares its counts once a minute.',
    'Preferred and Required do not require a certificate check, but the certificate is looked at all the',
    'same: "(would verify)" counts the TLS deliveries whose certificate verified, which is evidence too.',
    'Inbound: the messages received, by sending domain (MAIL FROM) and by client host, in clear or over',
    'TLS, and the sessions whose TLS failed (a broken handshake, or TLS required and never started), by',
    'client host: who would be refused if TLS became Required for their sender group.',
  ],
  async run(session, args) {
    const { values, positionals } = parseOptions(this, args, { days: { type: 'string' }, hours: { type: 'string' } });
    const inbound = positionals[0]?.toLowerCase() === 'inbound';
    const words = inbound || positionals[0]?.toLowerCase() === 'outbound' ? positionals.slice(1) : positionals;
    noMoreWords(this, words.slice(1));
    if (values.days !== undefined && values.hours !== undefined) throw new UserError('tlsreport: give --days or --hours, not both');
    const hours = optionalCount(values.hours, '--hours', { min: 1, max: 24 });
    const span = hours ? { hours } : { days: optionalCount(values.days, '--days', { min: 1, max: 31 }) ?? 30 };
    if (inbound) return inboundReport(session, span, words[0]);
    const domain = words[0]?.toLowerCase().replace(/\.$/, '');
    const { since, rows, suggestions, series = [], note } = await session.call('tls-statistics', { ...span, ...(domain ? { domain } : {}) });
    const io = session.io;
    if (note) io.print(note);
    const period = periodOf(span, since);
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
    const active = series.filter((d) => TLS_OUTCOMES.some((o) => d[o] > 0));
    if (active.length) {
      const [by, unit, label] = 'days' in span ? ['Day by day', 'days', (t: string) => t.slice(0, 10)] : ['Hour by hour', 'hours', (t: string) => t.slice(11, 16)];
      io.print('', `${by} (UTC; ${unit} without a delivery left out):`);
      io.print(...formatTable(['days' in span ? 'Day' : 'Hour', 'Deliveries', 'Clear', 'TLS', 'Verified', 'DANE', 'MTA-STS', 'Failed'], active.map((d) => [label(d.hour), String(TLS_OUTCOMES.reduce((n, o) => n + d[o], 0)), String(d.clear), String(d.tls), String(d.verified), String(d.dane), String(d['mta-sts']), String(d.failed)])));
    }
    const failing = rows.filter((r) => Object.keys(r.failures).length);
    if (failing.length) {
      io.print('', 'Connections that carried nothing:');
      for (const r of failing) io.print(`  ${r.domain}: ${Object.entries(r.failures).map(([why, n]) => `${why} ${n}`).join(', ')}`);
    }
    if (suggestions.length) {
      io.print('', 'Suggestions (no delivery of the period would have failed):');
      for (const s of suggestions) io.print(`  ${s.domain}: ${s.evidence}`, `    ${s.command}`);
      // Each command repeats the rest of the committed entry, so a second one would undo the first.
      const twice = [...new Set(suggestions.map((s) => s.domain).filter((d, i, all) => all.indexOf(d) !== i))];
      if (twice.length) io.print(`  (${twice.join(', ')}: each command repeats the domain's other settings as committed; take one, commit, and run tlsreport again for the next.)`);
    }
  },
};

/** tlsreport inbound: by sending domain, then by client host (an address argument shows only that host). */
async function inboundReport(session: Session, span: { days: number } | { hours: number }, which?: string): Promise<void> {
  const filter = which === undefined ? {} : net.isIP(which) ? { host: which.toLowerCase() } : { domain: which.toLowerCase().replace(/\.$/, '') };
  const { since, rows, hosts = [], note } = await session.call('tls-statistics', { ...span, direction: 'inbound', ...filter });
  const io = session.io;
  if (note) io.print(note);
  const period = periodOf(span, since);
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
