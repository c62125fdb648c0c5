import { type Command, noMoreWords, required } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { checkDomain } from '../../store/answers.js';
import { deleteRoute, parseHostPort, putRoute } from '../../store/network/routing.js';

export const smtproutes: Command = {
  name: 'smtproutes',
  summary: 'Deliver a domain to fixed hosts instead of its MX records',
  usage: ['smtproutes new DOMAIN HOST[:PORT] [HOST[:PORT]…]', 'smtproutes delete DOMAIN', 'smtproutes list'],
  details: ['DOMAIN is a domain or ".domain" for its subdomains; hosts are tried in the order given (port 25 by default).'],
  keywords: ['new', 'delete', 'list'],
  async run(session, args) {
    const [verb, domain, ...hosts] = args;
    const io = session.io;
    switch ((verb ?? 'list').toLowerCase()) {
      case 'new':
        if (hosts.length === 0) throw new CommandError(`Usage: ${this.usage[0]}`);
        checkDomain(required(this, domain, 'DOMAIN'));
        session.draft = putRoute(session.draft, required(this, domain, 'DOMAIN'), hosts.map((h) => parseHostPort(h, 25)));
        io.print(`Mail for ${domain} will go to ${hosts.join(', ')} after "commit".`);
        return;
      case 'delete':
        noMoreWords(this, hosts);
        session.draft = deleteRoute(session.draft, required(this, domain, 'DOMAIN'));
        io.print(`SMTP route for ${domain} deleted.`);
        return;
      case 'list':
        noMoreWords(this, args.slice(1));
        if (session.draft.smtpRoutes.length === 0) io.print('No SMTP routes: every domain is delivered to its MX hosts.');
        for (const r of session.draft.smtpRoutes) io.print(`${r.domain} → ${r.hosts.map((h) => `${h.host.includes(':') ? `[${h.host}]` : h.host}:${h.port}`).join(', ')}`);
        return;
      default:
        throw new CommandError(`Unknown operation "${verb}".\nUsage: ${this.usage.join('\n       ')}`);
    }
  },
};
