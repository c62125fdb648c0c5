import type { Command } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { setDnsServers } from '../../store/routing.js';

export const dnsconfig: Command = {
  name: 'dnsconfig',
  summary: 'Choose the DNS resolvers the engine queries',
  usage: ['dnsconfig servers ADDR[:PORT][,ADDR[:PORT]…]', 'dnsconfig servers system', 'dnsconfig'],
  details: ['DANE needs a validating resolver; its answers are trusted only from loopback addresses.'],
  keywords: ['servers'],
  async run(session, args) {
    const [verb, list] = args;
    if (verb === undefined) {
      const servers = session.draft.dns.servers;
      session.io.print(`DNS servers: ${servers.length ? servers.join(', ') : 'the system resolvers'}`);
      return;
    }
    if (verb.toLowerCase() !== 'servers' || !list) throw new CommandError(`Usage: ${this.usage.join('\n       ')}`);
    const servers = list.toLowerCase() === 'system' ? [] : list.split(',').map((s) => s.trim()).filter(Boolean);
    session.draft = setDnsServers(session.draft, servers);
    session.io.print(`DNS servers: ${servers.length ? servers.join(', ') : 'the system resolvers'} (after "commit").`);
  },
};
