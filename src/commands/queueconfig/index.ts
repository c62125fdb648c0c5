import { type Command, parseOptions } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { editConfig } from '../../store/edit.js';
import { optionalCount } from '../../store/answers.js';

const OPTIONS = { reserve: { type: 'string' }, 'max-deliveries': { type: 'string' } } as const;

export const queueconfig: Command = {
  name: 'queueconfig',
  summary: 'The queue\'s free-space reserve and how many deliveries run at once',
  usage: ['queueconfig', 'queueconfig [--reserve MB] [--max-deliveries N]'],
  details: [
    'When the file system of the queue has less than the reserve free (100 MB by default), new mail',
    'gets "452 4.3.1 Insufficient system storage" at MAIL FROM: senders keep it and retry. Queued mail',
    'keeps being delivered, and acceptance resumes by itself when space returns. "status" shows the state.',
    '--max-deliveries: messages delivered at the same time over all destinations (50 by default, 1-1000;',
    'each destination\'s own "destconfig --max-concurrency" still applies).',
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
    const deliveries = optionalCount(values['max-deliveries'], '--max-deliveries', { min: 1, max: 1000 });
    if (deliveries !== undefined) {
      session.draft = editConfig(session.draft, (draft) => {
        draft.queue.maxDeliveries = deliveries;
      });
    }
    const later = values.reserve !== undefined || deliveries !== undefined ? ' (after "commit")' : '';
    session.io.print(`Queue free-space reserve: ${session.draft.queue.reserveMb} MB${later}`, `Deliveries at once: at most ${session.draft.queue.maxDeliveries}${later}`);
  },
};
