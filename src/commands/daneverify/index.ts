import { type Command, required } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';

export const daneverify: Command = {
  name: 'daneverify',
  summary: 'Check, step by step, whether a domain can be delivered to with DANE',
  usage: ['daneverify DOMAIN'],
  maxWords: 1,
  details: [
    'Uses the committed configuration and sends no mail. Shows the DNSSEC status of the MX, address and',
    'TLSA records (SECURE / INSECURE / BOGUS), connects to each mail exchanger with TLSA records until one',
    'passes, and ends with "DANE SUCCESS for DOMAIN" or "DANE FAILED for DOMAIN". DNSSEC status is trusted',
    'only from a validating resolver on loopback (dnsconfig).',
  ],
  needsConfig: false,
  async run(session, args) {
    if (args.length > 1) throw new CommandError(`daneverify takes one domain.\nUsage: ${this.usage[0]}`);
    const domain = args[0] ?? (session.io.interactive ? await session.io.ask('Enter the domain to verify DANE for:') : undefined);
    const { lines, ok } = await session.call('daneverify', { domain: required(this, domain, 'DOMAIN') });
    session.io.print(...lines);
    if (!ok) throw new CommandError(`DANE verification failed for ${domain}.`);
  },
};
