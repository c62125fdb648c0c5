import { type Command, required } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';

export const tlsverify: Command = {
  name: 'tlsverify',
  summary: 'Check, step by step, the TLS connection to a domain under its TLS setting',
  usage: ['tlsverify DOMAIN'],
  maxWords: 1,
  details: ['Uses the committed configuration; connects to the first reachable mail exchanger and sends no mail.'],
  needsConfig: false,
  async run(session, args) {
    const domain = args[0] ?? (session.io.interactive ? await session.io.ask('Enter the TLS domain to verify against:') : undefined);
    const { lines } = await session.call('tlsverify', { domain: required(this, domain, 'DOMAIN') });
    session.io.print(...lines);
    if (lines.some((l) => l.startsWith('TLS verification FAILED') || l.startsWith('No route') || l.startsWith('No mail exchanger'))) {
      throw new CommandError(`TLS to ${domain} does not meet its setting.`);
    }
  },
};
