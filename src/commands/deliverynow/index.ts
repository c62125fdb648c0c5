import type { Command } from '../../shell/command.js';

export const deliverynow: Command = {
  name: 'deliverynow',
  summary: 'Retry delivery of queued messages now',
  usage: ['deliverynow [DOMAIN]'],
  maxWords: 1,
  needsConfig: false,
  async run(session, args) {
    const { messages } = await session.call('deliverynow', args[0] ? { domain: args[0] } : {});
    session.io.print(`Delivery of ${messages} message(s)${args[0] ? ` for ${args[0]}` : ''} scheduled now.`);
  },
};
