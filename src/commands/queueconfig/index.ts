import { type Command, parseOptions } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { editConfig } from '../../store/edit.js';

const OPTIONS = { reserve: { type: 'string' } } as const;

export const queueconfig: Command = {
  name: 'queueconfig',
  summary: 'The queue\'s free-space reserve (new mail is refused temporarily below it)',
  usage: ['queueconfig', 'queueconfig --reserve MB'],
  details: [
    'When the file system of the queue has less than the reserve free (100 MB by default), new mail',
    'gets "452 4.3.1 Insufficient system storage" at MAIL FROM: senders keep it and retry. Queued mail',
    'keeps being delivered, and acceptance resumes by itself when space returns. "status" shows the state.',
  ],
  async run(session, args) {
    const { values, positionals } = parseOptions(this, args, OPTIONS);
    if (positionals.length) throw new CommandError(`Usage: ${this.usage.join('\n       ')}`);
    if (values.reserve !== undefined) {
      if (!/^\d{1,7}$/.test(values.reserve)) throw new CommandError(`--reserve is a number of megabytes (0-1000000); not "${values.reserve}".`);
      const reserveMb = Number(values.reserve);
      session.draft = editConfig(session.draft, (draft) => {
        draft.queue.reserveMb = reserveMb;
      });
    }
    session.io.print(`Queue free-space reserve: ${session.draft.queue.reserveMb} MB${values.reserve !== undefined ? ' (after "commit")' : ''}`);
  },
};
