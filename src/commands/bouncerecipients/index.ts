import { type Command, parseOptions, takeWords } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';

export const bouncerecipients: Command = {
  name: 'bouncerecipients',
  summary: 'Give up on queued recipients now; their senders get a bounce',
  usage: ['bouncerecipients --domain DOMAIN | --sender ADDRESS | --mid N | all'],
  needsConfig: false,
  async run(session, args) {
    const { values, positionals } = parseOptions(this, args, { domain: { type: 'string' }, sender: { type: 'string' }, mid: { type: 'string' } });
    const [word] = takeWords(this, positionals, 1);
    if (word !== undefined && word.toLowerCase() !== 'all') throw new CommandError(`Unexpected word "${word}".\nUsage: ${this.usage[0]}`);
    const all = word !== undefined;
    if (!all && !values.domain && !values.sender && !values.mid) throw new CommandError(`Say which recipients.\nUsage: ${this.usage[0]}`);
    if (values.mid !== undefined && !/^\d+$/.test(values.mid)) throw new CommandError('--mid is a message number.');
    if (all && session.io.interactive && !(await session.io.confirm('Do you want to bounce every recipient in the queue?', false))) return;
    const { recipients } = await session.call('bounce', {
      ...(values.domain ? { domain: values.domain } : {}),
      ...(values.sender ? { sender: values.sender } : {}),
      ...(values.mid ? { mid: Number(values.mid) } : {}),
      ...(all ? { all: true } : {}),
    });
    session.io.print(`${recipients} recipient(s) bounced.`);
  },
};
