import { type Command, noMoreWords, required } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { InvalidAnswer } from '../../shell/io.js';
import type { Session } from '../../shell/session.js';
import { checkDomain } from '../../store/answers.js';
import { deleteRoute, hostPortText, parseHostPort, putRoute } from '../../store/network/routing.js';
import type { Config } from '../../store/schema.js';
import { UserError } from '../../userError.js';

const routeLines = (config: Config) => config.smtpRoutes.map((r, i) => `${i + 1}. ${r.domain} → ${r.hosts.map(hostPortText).join(', ')}`);

/** The destination hosts as typed in the dialog: comma-separated HOST[:PORT] (port 25 by default). */
function hostsAnswer(value: string): { host: string; port: number }[] {
  const words = value.split(/[\s,]+/).filter(Boolean);
  if (!words.length) throw new InvalidAnswer('Give at least one destination host.');
  try {
    return words.map((w) => parseHostPort(w, 25));
  } catch (err) {
    if (err instanceof UserError) throw new InvalidAnswer(err.message);
    throw err;
  }
}

/** The appliance's smtproutes menu: NEW, EDIT, DELETE, PRINT. */
function dialog(session: Session): Promise<void> {
  const io = session.io;
  const pick = (question: string) => io.choose(question, session.draft.smtpRoutes.map((r) => ({ label: `${r.domain} → ${r.hosts.map(hostPortText).join(', ')}`, value: r })));
  const askHosts = (domain: string, current?: string) =>
    io.ask(`Enter the destination hosts, separated by commas, to which mail for ${domain} is delivered (HOST[:PORT], port 25 by default):`, {
      ...(current ? { default: current } : {}),
      validate: hostsAnswer,
    });
  return io.menuLoop(
    () => io.print('', ...(session.draft.smtpRoutes.length ? ['Currently configured routes:', ...routeLines(session.draft)] : ['There are no routes configured.'])),
    [
      {
        keyword: 'NEW',
        text: 'Create a new route.',
        run: async () => {
          const domain = await io.ask('Enter the domain for which you want to set up a permanent route.\nPartial hostnames such as ".example.com" are allowed.', { validate: checkDomain });
          session.draft = putRoute(session.draft, domain, await askHosts(domain));
          io.print(`Mail for ${domain} will go to ${session.draft.smtpRoutes.find((r) => r.domain === domain)!.hosts.map(hostPortText).join(', ')} after "commit".`);
        },
      },
      {
        keyword: 'EDIT',
        text: 'Edit destinations of an existing route.',
        run: async () => {
          if (!session.draft.smtpRoutes.length) return io.print('There are no routes to edit.');
          const route = await pick('Enter the number of the route you wish to edit.');
          session.draft = putRoute(session.draft, route.domain, await askHosts(route.domain, route.hosts.map(hostPortText).join(', ')));
          io.print(`SMTP route for ${route.domain} changed.`);
        },
      },
      {
        keyword: 'DELETE',
        text: 'Remove a route.',
        run: async () => {
          if (!session.draft.smtpRoutes.length) return io.print('There are no routes to delete.');
          const route = await pick('Enter the number of the route you wish to delete.');
          if (!(await io.confirm(`Are you sure you want to delete the route for ${route.domain}?`, false))) return;
          session.draft = deleteRoute(session.draft, route.domain);
          io.print(`SMTP route for ${route.domain} deleted.`);
        },
      },
      { keyword: 'PRINT', text: 'Display all routes.', run: async () => io.print(...(session.draft.smtpRoutes.length ? routeLines(session.draft) : ['There are no routes configured.'])) },
    ],
  );
}

export const smtproutes: Command = {
  name: 'smtproutes',
  summary: 'Deliver a domain to fixed hosts instead of its MX records',
  usage: ['smtproutes', 'smtproutes new DOMAIN HOST[:PORT] [HOST[:PORT]…]', 'smtproutes delete DOMAIN', 'smtproutes list'],
  details: ['DOMAIN is a domain or ".domain" for its subdomains; hosts are tried in the order given (port 25 by default).'],
  keywords: ['new', 'delete', 'list'],
  names: (c) => c.smtpRoutes.map((r) => r.domain),
  async run(session, args) {
    const [verb, domain, ...hosts] = args;
    const io = session.io;
    if (verb === undefined) return dialog(session);
    switch ((verb ?? 'list').toLowerCase()) {
      case 'new':
        if (hosts.length === 0) throw new CommandError(`Usage: ${this.usage[1]}`);
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
        for (const r of session.draft.smtpRoutes) io.print(`${r.domain} → ${r.hosts.map(hostPortText).join(', ')}`);
        return;
      default:
        throw new CommandError(`Unknown operation "${verb}".\nUsage: ${this.usage.join('\n       ')}`);
    }
  },
};
