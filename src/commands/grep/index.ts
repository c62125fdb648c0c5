import { type Command, parseOptions, takeWords } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { LOG_NAMES, allFiles, logFiles, readText } from '../../store/logFiles.js';

export const grep: Command = {
  name: 'grep',
  summary: 'Search a log (its rotated files too) for a pattern',
  usage: ['grep [-i] PATTERN mail_logs'],
  details: [
    `Logs: ${LOG_NAMES.join(', ')}. PATTERN is a regular expression (quote it when it has spaces); -i`,
    'ignores case. Matching lines are shown oldest first, paged at a terminal. Exit status 1 when none match.',
  ],
  keywords: LOG_NAMES,
  needsConfig: false,
  async run(session, args) {
    const { values, positionals } = parseOptions(this, args, { i: { type: 'boolean', short: 'i' } });
    const [pattern, name] = takeWords(this, positionals, 2);
    if (pattern === undefined || name === undefined) throw new CommandError(`Give a pattern and a log.\nUsage: ${this.usage[0]}`);
    let re: RegExp;
    try {
      re = new RegExp(pattern, values.i ? 'i' : '');
    } catch (err) {
      throw new CommandError(`"${pattern}" is not a regular expression: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`);
    }
    const matches: string[] = [];
    for (const file of await allFiles(logFiles(session.paths, name))) {
      for (const line of (await readText(file)).split('\n')) if (line && re.test(line)) matches.push(line);
    }
    if (matches.length === 0) throw new CommandError(`No line of ${name} matches "${pattern}".`);
    await session.io.page(matches);
  },
};
