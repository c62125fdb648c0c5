import type { Command } from '../../shell/command.js';

/** dnsflush: empty the engine's DNS cache, as on the appliance (after a DNS fix, to see it at once). */
export const dnsflush: Command = {
  name: 'dnsflush',
  summary: 'Clear the DNS cache',
  usage: ['dnsflush'],
  details: [
    'The engine keeps every DNS answer (MX, A, AAAA, TLSA, TXT, PTR) for its TTL, negative answers for the',
    'zone\'s SOA minimum (at most an hour) and SERVFAIL for 30 seconds. After a change in DNS, dnsflush makes',
    'the next delivery, tlsverify or daneverify ask again.',
  ],
  maxWords: 0,
  needsConfig: false,
  async run(session) {
    if (session.io.interactive && !(await session.io.confirm('Are you sure you want to clear out the DNS cache?', false))) return;
    const { flushed } = await session.call('dnsflush', {});
    session.io.print(`The DNS cache was cleared (${flushed} answer${flushed === 1 ? '' : 's'}).`);
  },
};
