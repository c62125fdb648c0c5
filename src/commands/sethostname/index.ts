import type { Command } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { setHostname } from '../../store/network/hostname.js';

export const sethostname: Command = {
  name: 'sethostname',
  level: 'machine',
  summary: 'Set the host name of the appliance',
  usage: ['sethostname HOSTNAME', 'sethostname'],
  maxWords: 1,
  details: ['Used in the shell prompt, the SMTP banner and Received headers (an interface may override it).'],
  async run(session, args) {
    if (args.length > 1) throw new CommandError(`Usage: ${this.usage[0]}`);
    const name =
      args[0] ??
      (await session.io.ask('Enter the new hostname.', {
        default: session.draft.hostname,
        validate: (s) => {
          setHostname(session.draft, s);
          return s;
        },
      }));
    session.draft = setHostname(session.draft, name);
    session.io.print(`The host name will be ${session.draft.hostname} after "commit".`);
  },
};
