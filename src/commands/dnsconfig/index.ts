import { type Command, noMoreWords } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { daneResolverWarning, setDnsServers } from '../../store/network/routing.js';

export const dnsconfig: Command = {
  name: 'dnsconfig',
  summary: 'Choose the DNS resolvers the engine queries',
  usage: ['dnsconfig servers ADDR[:PORT][,ADDR[:PORT]…]', 'dnsconfig servers system', 'dnsconfig'],
  details: [
    'DANE needs a validating resolver: the AD bit (DNSSEC-validated) is trusted only from resolvers on',
    'loopback (127.0.0.0/8, ::1), as Postfix does; answers from any other server count as insecure.',
  ],
  keywords: ['servers'],
  async run(session, args) {
    const [verb, list] = args;
    noMoreWords(this, args.slice(2));
    if (verb === undefined) {
      const servers = session.draft.dns.servers;
      session.io.print(`DNS servers: ${servers.length ? servers.join(', ') : 'the system resolvers'}`);
      return;
    }
    if (verb.toLowerCase() !== 'servers' || !list) throw new CommandError(`Usage: ${this.usage.join('\n       ')}`);
    const servers = list.toLowerCase() === 'system' ? [] : list.split(',').map((s) => s.trim()).filter(Boolean);
    session.draft = setDnsServers(session.draft, servers);
    session.io.print(`DNS servers: ${servers.length ? servers.join(', ') : 'the system resolvers'} (after "commit").`);
    const warning = daneResolverWarning(session.draft);
    if (warning) session.io.warn(warning);
  },
};
