import type { DataPaths } from '../store/paths.js';
import { EndOfInput, Interrupted } from './errors.js';
import { Io, type Output, stdOutput } from './io.js';
import type { LineSource } from './lineSource.js';
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../userError.js';
import { type Account, type EngineLauncher, Session } from './session.js';
import type { Caller } from '../control/protocol.js';
import { tokenize } from './tokenize.js';
import { type Command, type CommandRegistry, noMoreWords } from './command.js';
import type { Config } from '../store/schema.js';

export interface ShellOptions {
  paths: DataPaths;
  /** The commands it runs (commands/index.ts COMMANDS). */
  commands: CommandRegistry;
  source: LineSource;
  /** Show `hostname> ` prompts (TTY and piped sessions; not `-c`). */
  prompts: boolean;
  /** Start the engine before the first prompt (so the prompt knows the host name). */
  startEngine: boolean;
  /** Scripts: carry on after a failed command (--keep-going) instead of stopping there. */
  keepGoing?: boolean;
  /** Where output goes (an SSH channel); the process's stdout and stderr when absent. */
  output?: Output;
  /** The appliance account the session runs as (SSH); the operating-system user when absent. */
  account?: Account;
  /** The engine's operations as that account (SSH sessions run inside the engine); the control socket when absent. */
  engine?: Caller;
  /** The local shell's way to start an engine when none runs (cli.ts hands appliance/daemon.ts's startEngine). */
  launcher?: EngineLauncher;
}

/** An unexpected error: one line for the administrator, the details in logs/shell-errors.log. */
function internalError(paths: DataPaths, err: unknown): string {
  const file = path.join(paths.logs, 'shell-errors.log');
  try {
    mkdirSync(paths.logs, { recursive: true, mode: 0o700 });
    appendFileSync(file, `${new Date().toISOString()} ${(err as Error)?.stack ?? String(err)}\n`, { mode: 0o600 });
    return `internal error: ${(err as Error)?.message ?? String(err)} (details in ${file})`;
  } catch {
    return `internal error: ${(err as Error)?.message ?? String(err)}`;
  }
}

/**
 * Tab completion for the command line: command names, then the command's keywords (second word),
 * then the names of the objects it works on (third word on: listeners, profiles, domains, accounts),
 * from the session's view of the configuration when it has one.
 */
export function completeLine(commands: CommandRegistry, line: string, config: () => Config | undefined): string[] {
  const words = line.trimStart().split(/\s+/);
  if (words.length <= 1) {
    const names = commands.all().flatMap((c) => [c.name, ...(c.aliases ?? [])]);
    const hits = names.filter((n) => n.startsWith(words[0]!.toLowerCase()));
    return hits.length ? hits : names;
  }
  const command = commands.find(words[0]!);
  const last = words[words.length - 1]!;
  const prefix = line.slice(0, line.length - last.length);
  const candidates = words.length === 2 ? (command?.keywords ?? []) : namesFor(command, config());
  return [...new Set(candidates)].filter((k) => k.toLowerCase().startsWith(last.toLowerCase())).map((k) => prefix + k);
}

function namesFor(command: Command | undefined, config: Config | undefined): string[] {
  if (!command?.names || !config) return [];
  try {
    return command.names(config);
  } catch {
    return [];
  }
}

/**
 * Read commands and run them until quit or end of input. Returns the number of commands that
 * failed (the exit status of a script depends on it).
 */
export async function runShell(options: ShellOptions): Promise<number> {
  const output = options.output ?? stdOutput;
  const io = new Io(options.source, output);
  const session = new Session(options.paths, io, options.account, options.engine, options.launcher);
  let failures = 0;
  // A script stops at its first failure: what follows may depend on it (and end in "commit").
  const stopOnFailure = !io.interactive && !options.keepGoing;
  let stopped = false;
  // "line 28", or "-c argument 28" for the commands given with -c.
  const at = (n: number) => `${options.source.unit ?? 'line'} ${n}`;
  const failed = (lineNo: number, what: string) => {
    failures += 1;
    io.error(io.interactive ? what : `${at(lineNo)}: ${what}`);
    if (stopOnFailure) {
      stopped = true;
      io.error(`Stopped at ${at(lineNo)}: nothing after it ran${session.hasChanges() ? ', and the pending changes were discarded' : ''} (use --keep-going to carry on after failures).`);
    }
  };
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
      line = await options.source.read(options.prompts ? `${session.promptName}> ` : '', {
        command: true,
        completions: (l: string) => completeLine(options.commands, l, () => (engineReady ? session.draft : undefined)),
      });
    } catch (err) {
      if (err instanceof Interrupted) continue;
      // Ctrl-D at the prompt is "quit": it asks whether to commit, as quit does.
      if (err instanceof EndOfInput && err.keyboard) line = 'quit';
      else if (err instanceof EndOfInput) break;
      else throw err;
    }
    const lineNo = options.source.linesRead;
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    let words: string[];
    try {
      words = tokenize(trimmed);
    } catch (err) {
      failed(lineNo, (err as Error).message);
      if (stopped) break;
      continue;
    }
    const command = options.commands.find(words[0]!);
    if (!command) {
      failed(lineNo, `Unknown command: '${words[0]}'. Type "help" for a list.`);
      if (stopped) break;
      continue;
    }
    let restore = session.checkpoint();
    try {
      if (command.needsConfig !== false) {
        await prepare();
        // A view older than the committed configuration is refreshed or named before anything is built on it.
        if (command.name !== 'clearchanges') await session.catchUp();
        restore = session.checkpoint();
      }
      if (command.maxWords !== undefined) noMoreWords(command, words.slice(1 + command.maxWords));
      if (command.level) await session.ensureLevel(command);
      await command.run(session, words.slice(1));
    } catch (err) {
      // A command applies its changes whole or not at all: cancelled or failed, the draft goes back.
      const undone = restore();
      if (err instanceof Interrupted || (err instanceof EndOfInput && err.keyboard)) {
        io.print(`-- ${command.name} cancelled${undone ? ': the changes made in it were not recorded' : ''}.`);
        continue;
      }
      if (err instanceof EndOfInput) {
        failures += 1;
        io.error(`${io.interactive ? '' : `${at(options.source.linesRead)}: `}Input ended in the middle of "${command.name}" (started at ${at(lineNo)}); that operation was abandoned and nothing was changed.`);
        break;
      }
      const message = (err instanceof UserError ? (err as Error).message : internalError(options.paths, err)) + (undone && io.interactive ? '\nThe changes made in this command were not recorded.' : '');
      // A dialog's answer is named by its own line; the command by the line it started on.
      failed(options.source.linesRead > lineNo ? options.source.linesRead : lineNo, `${command.name}: ${message.replace(new RegExp(`^${command.name}: `), '')}`);
      if (stopped) break;
    }
  }

  if (!stopped && !session.quitRequested && session.hasChanges()) {
    // End of a script (or ^D) with edits that were never committed: say so loudly.
    io.warn('The session ended with uncommitted changes; they were discarded. End scripts with "commit".');
    if (!io.interactive) output.err('mxgate: uncommitted changes were discarded\n');
  }
  options.source.close();
  return failures;
}
