import { shellTime } from '../../store/dates.js';
import { type Command, noMoreWords, parseOptions } from '../../shell/command.js';

export const showrecipients: Command = {
  name: 'showrecipients',
  summary: 'List the recipients still waiting in the delivery queue',
  usage: ['showrecipients [--domain DOMAIN] [--sender ADDRESS]'],
  needsConfig: false,
  async run(session, args) {
    const { values, positionals } = parseOptions(this, args, { domain: { type: 'string' }, sender: { type: 'string' } });
    noMoreWords(this, positionals);
    const all = await session.call('recipients');
    const list = all.filter(
      (r) =>
        (!values.domain || r.to.toLowerCase().endsWith(`@${values.domain.toLowerCase()}`)) &&
        (!values.sender || r.from.toLowerCase() === values.sender.toLowerCase()),
    );
    if (list.length === 0) return session.io.print('There are no matching messages in the delivery queue.');
    session.io.print(`${list.length} recipient(s) waiting:`);
    for (const r of list) {
      session.io.print(
        `MID ${r.mid} RID ${r.rid}  <${r.from}> -> <${r.to}>  received ${shellTime(r.receivedAt)}, ${r.attempts} attempt(s)` +
          `${r.nextAttemptAt ? `, next ${shellTime(r.nextAttemptAt)}` : ''}${r.lastResponse ? `\n    last: ${r.lastResponse}` : ''}`,
      );
    }
  },
};
