import { type Command, parseOptions } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { setTlsRpt } from '../../store/alerts/reportEdits.js';

const OPTIONS = { org: { type: 'string' }, contact: { type: 'string' }, hour: { type: 'string' } } as const;

export const tlsrptconfig: Command = {
  name: 'tlsrptconfig',
  summary: 'Daily TLS reports (RFC 8460) to the domains that publish a TLSRPT record',
  usage: ['tlsrptconfig', 'tlsrptconfig enable|disable [--org NAME] [--contact EMAIL] [--hour H]', 'tlsrptconfig --org NAME --contact EMAIL --hour H', 'tlsrptconfig send-now'],
  details: [
    'Delivery records, per recipient domain and UTC day, the TLS sessions made under a DANE (tlsa) or',
    'MTA-STS (sts) policy and how they failed (starttls-not-supported, certificate-host-mismatch, …).',
    'Once a day, at hour H (UTC), each domain whose _smtp._tls TXT record (v=TLSRPTv1; rua=…) asks for',
    'reports gets a gzipped JSON report: mailto: addresses by mail through our queue (delivered like',
    'alerts, not held by the policies they report on), https: addresses by POST.',
    'send-now sends everything recorded so far at once (takes the committed settings; no commit needed).',
  ],
  keywords: ['enable', 'disable', 'send-now'],
  async run(session, args) {
    const { values, positionals } = parseOptions(this, args, OPTIONS);
    const io = session.io;
    const verb = positionals[0]?.toLowerCase();
    if (positionals.length > 1 || (verb && !['enable', 'disable', 'send-now'].includes(verb))) throw new CommandError(`Unknown operation "${positionals.join(' ')}".\nUsage: ${this.usage.join('\n       ')}`);
    if (verb === 'send-now') {
      if (Object.values(values).some((v) => v !== undefined)) throw new CommandError('send-now takes no options.');
      const { lines } = await session.call('tlsrpt-send', {});
      io.print(...lines);
      return;
    }
    const changes: Parameters<typeof setTlsRpt>[1] = {};
    if (verb) changes.enabled = verb === 'enable';
    if (values.org !== undefined) changes.organization = values.org.trim();
    if (values.contact !== undefined) {
      if (!/^[^\s@]+@[^\s@]+$/.test(values.contact.trim())) throw new CommandError(`--contact must be an e-mail address; not "${values.contact}".`);
      changes.contact = values.contact.trim();
    }
    if (values.hour !== undefined) {
      if (!/^\d{1,2}$/.test(values.hour) || Number(values.hour) > 23) throw new CommandError(`--hour is the UTC hour to send reports, 0-23; not "${values.hour}".`);
      changes.hour = Number(values.hour);
    }
    if (Object.keys(changes).length) session.draft = setTlsRpt(session.draft, changes);
    const t = session.draft.tlsrpt;
    io.print(
      `TLS reports: ${t.enabled ? 'enabled' : 'disabled'}`,
      `Organization: ${t.organization || `${session.draft.hostname} (the host name)`}`,
      `Contact: ${t.contact || `postmaster@${session.draft.hostname}`}`,
      `Sent daily at ${String(t.hour).padStart(2, '0')}:00 UTC`,
    );
  },
};
