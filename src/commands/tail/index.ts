import { stat } from 'node:fs/promises';
import { type Command, parseOptions, takeWords } from '../../shell/command.js';
import { Interrupted } from '../../shell/errors.js';
import { optionalCount } from '../../store/answers.js';
import { LOG_NAMES, lastLines, linesSince, logFiles } from '../../store/logFiles.js';

export const tail: Command = {
  name: 'tail',
  summary: 'Show the end of a log; at a terminal, follow it until Ctrl-C',
  usage: ['tail mail_logs [--lines N]'],
  details: [
    `Logs: ${LOG_NAMES.join(', ')}. The last 20 lines by default. At a terminal new lines keep coming`,
    'until Ctrl-C (or Enter); in a script the lines are printed once.',
  ],
  keywords: LOG_NAMES,
  needsConfig: false,
  async run(session, args) {
    const { values, positionals } = parseOptions(this, args, { lines: { type: 'string' } });
    const log = logFiles(session.paths, takeWords(this, positionals, 1)[0]);
    const count = optionalCount(values.lines, '--lines', { min: 1, max: 100_000 }) ?? 20;
    const io = session.io;
    io.print(...(await lastLines(log.current, count)));
    if (!io.interactive) return;
    io.print('-- Following new lines; press Ctrl-C (or Enter) to stop.');
    let offset = (await stat(log.current).catch(() => undefined))?.size ?? 0;
    let following = true;
    const follow = (async () => {
      while (following) {
        await new Promise((r) => setTimeout(r, 250));
        const next = await linesSince(log.current, offset);
        offset = next.offset;
        if (next.lines.length && following) io.print(...next.lines);
      }
    })();
    try {
      await io.source.read('');
    } catch (err) {
      if (!(err instanceof Interrupted)) throw err;
    } finally {
      following = false;
      await follow;
    }
  },
};
