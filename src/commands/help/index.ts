import type { Command } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';

/** `help` needs the command list, so it is built by the registry. */
export function makeHelp(all: () => Command[], find: (name: string) => Command | undefined): Command {
  return {
    name: 'help',
    aliases: ['?'],
    summary: 'List the commands, or show how to use one',
    usage: ['help', 'help COMMAND'],
    maxWords: 1,
    needsConfig: false,
    async run(session, args) {
      const io = session.io;
      if (args.length === 0) {
        const commands = all();
        const width = Math.max(...commands.map((c) => c.name.length));
        io.print('Commands (case-insensitive; "help COMMAND" shows its batch forms):');
        for (const c of commands) io.print(`  ${c.name.padEnd(width)}  ${c.summary}${c.aliases?.length ? ` (also: ${c.aliases.join(', ')})` : ''}`);
        return;
      }
      const c = find(args[0]!);
      if (!c) throw new CommandError(`Unknown command: '${args[0]}'. Type "help" for a list.`);
      io.print(`${c.name} - ${c.summary}`, '', 'Usage:', ...c.usage.map((u) => `  ${u}`));
      if (c.details) io.print('', ...c.details);
    },
  };
}
