import type { Command } from '../../shell/command.js';
import { shellTime } from '../../store/dates.js';
import { CommandError } from '../../shell/errors.js';
import { formatTable } from '../../shell/table.js';

const when = (iso: string | undefined) => (iso ? shellTime(iso) : '-');

export const mtastsstatus: Command = {
  name: 'mtastsstatus',
  summary: 'MTA-STS policies in the cache: mode, MX patterns, id, expiry, last fetch',
  usage: ['mtastsstatus', 'mtastsstatus DOMAIN'],
  maxWords: 1,
  details: [
    'Policies are fetched when mail goes to a domain with MTA-STS Support on (destconfig --mta-sts yes),',
    'kept under the data directory until max_age, and renewed in the background before they expire.',
    'After repeated fetch failures a domain is not fetched again for a day (its cached policy stays).',
  ],
  needsConfig: false,
  async run(session, args) {
    if (args.length > 1) throw new CommandError(`mtastsstatus takes at most one domain.\nUsage: ${this.usage.join('\n       ')}`);
    const entries = await session.call('mtasts', {});
    const io = session.io;
    if (args[0] !== undefined) {
      const domain = args[0].toLowerCase().replace(/\.$/, '');
      const e = entries.find((x) => x.domain === domain);
      if (!e) throw new CommandError(`There is no MTA-STS cache entry for ${domain} (no mail has gone there with MTA-STS on).`);
      io.print(
        `Domain: ${e.domain}`,
        ...(e.policy
          ? [`Mode: ${e.policy.mode}`, `MX: ${e.policy.mx.join(', ') || '-'}`, `Max age: ${e.policy.maxAge} s`, `Policy id: ${e.policy.id}`, `Fetched: ${when(e.policy.fetchedAt)}`, `Expires: ${when(e.policy.expiresAt)}${Date.parse(e.policy.expiresAt) <= Date.now() ? ' (expired)' : ''}`]
          : ['Policy: none cached']),
        `Last fetch: ${e.lastFetch ? `${when(e.lastFetch.at)} ${e.lastFetch.ok ? 'OK' : 'FAILED'} (${e.lastFetch.detail})` : '-'}`,
        ...(e.skipUntil && Date.parse(e.skipUntil) > Date.now() ? [`Fetching suspended until ${when(e.skipUntil)} after ${e.failures} failures in a row`] : []),
      );
      return;
    }
    if (!entries.length) return io.print('The MTA-STS cache is empty.');
    io.print(
      ...formatTable(
        ['Domain', 'Mode', 'MX', 'ID', 'Expires', 'Last fetch'],
        entries.map((e) => [e.domain, e.policy?.mode ?? '-', e.policy?.mx.join(',') ?? '-', e.policy?.id ?? '-', when(e.policy?.expiresAt), e.lastFetch ? `${e.lastFetch.ok ? 'OK' : 'FAILED'} ${when(e.lastFetch.at)}` : '-']),
      ),
    );
  },
};
