import { allCommands, findCommand } from '../commands/index.js';
import type { DataPaths } from '../store/paths.js';
import { CommandError, EndOfInput, Interrupted } from './errors.js';
import { Io } from './io.js';
import type { LineSource } from './lineSource.js';
import { Session } from './session.js';
import { tokenize } from './tokenize.js';

export interface ShellOptions {
  paths: DataPaths;
  source: LineSource;
  /** Show `hostname> ` prompts (TTY and piped sessions; not `-c`). */
  prompts: boolean;
  /** Start the engine before the first prompt (so the prompt knows the host name). */
  startEngine: boolean;
}

/** Tab completion for the command line: command names, then the command's keywords. */
function completeLine(line: string): string[] {
  const words = line.trimStart().split(/\s+/);
  if (words.length <= 1) {
    const names = allCommands().flatMap((c) => [c.name, ...(c.aliases ?? [])]);
    const hits = names.filter((n) => n.startsWith(words[0]!.toLowerCase()));
    return hits.length ? hits : names;
  }
  const command = findCommand(words[0]!);
  const last = words[words.length - 1]!.toLowerCase();
  const prefix = line.slice(0, line.length - last.length);
  return (command?.keywords ?? []).filter((k) => k.startsWith(last)).map((k) => prefix + k);
}

/**
 * Read commands and run them until quit or end of input. Returns the number of commands that
 * failed (the exit status of a script depends on it).
 */
export async function runShell(options: ShellOptions): Promise<number> {
  const io = new Io(options.source);
  const session = new Session(options.paths, io);
  let failures = 0;
  let lineNo = 0;
  let engineReady = false;
  const prepare = async () => {
    if (engineReady) return;
    await session.ensureEngine();
    await session.load();
    engineReady = true;
  };

  if (options.startEngine) {
    try {
      await prepare();
    } catch (err) {
      io.error((err as Error).message);
      return 1;
    }
  }

  while (!session.quitRequested) {
    let line: string;
    try {
      line = await options.source.read(options.prompts ? `${session.hostname}> ` : '', { completions: completeLine });
    } catch (err) {
      if (err instanceof Interrupted) continue;
      if (err instanceof EndOfInput) break;
      throw err;
    }
    lineNo += 1;
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    let words: string[];
    try {
      words = tokenize(trimmed);
    } catch (err) {
      io.error((err as Error).message);
      failures += 1;
      continue;
    }
    const command = findCommand(words[0]!);
    if (!command) {
      io.error(`Unknown command: '${words[0]}'. Type "help" for a list.`);
      failures += 1;
      continue;
    }
    try {
      if (command.needsConfig !== false) await prepare();
      await command.run(session, words.slice(1));
    } catch (err) {
      if (err instanceof EndOfInput) {
        io.error(`Input ended in the middle of "${command.name}"; that operation was abandoned and nothing was changed.`);
        failures += 1;
        break;
      }
      if (err instanceof Interrupted) {
        io.print('-- Changes not recorded');
        continue;
      }
      failures += 1;
      const known = err instanceof CommandError || (err as Error).name === 'ConfigError' || (err as Error).name === 'EngineError';
      const message = known ? (err as Error).message : `internal error: ${(err as Error).stack ?? String(err)}`;
      io.error(io.interactive ? message : `line ${lineNo}: ${command.name}: ${message}`);
    }
  }

  if (!session.quitRequested && session.hasChanges()) {
    // End of a script (or ^D) with edits that were never committed: say so loudly.
    io.warn('The session ended with uncommitted changes; they were discarded. End scripts with "commit".');
    if (!io.interactive) process.stderr.write('mxgate: uncommitted changes were discarded\n');
  }
  options.source.close();
  return failures;
}
