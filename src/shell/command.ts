import type { Config } from '../store/schema.js';
import { parseArgs } from 'node:util';
import { CommandError } from './errors.js';
import type { Session } from './session.js';

/**
 * One shell command (src/commands/<name>/): its dialog, its batch form and its help text.
 * `run` throws CommandError (or ConfigError) when the command failed.
 */
export interface Command {
  name: string;
  aliases?: string[];
  summary: string;
  /** Batch forms, one per line, shown by `help <command>`. */
  usage: string[];
  /** Longer help. */
  details?: string[];
  /** Words Tab completes after the command name. */
  keywords?: string[];
  /** Names Tab completes from the third word on: the objects this command works on (listeners, profiles…). */
  names?: (config: Config) => string[];
  /** For commands whose words are all positional: how many they take at most (more is an error). */
  maxWords?: number;
  /** False for commands that work without the engine (help, version, quit). */
  needsConfig?: boolean;
  /**
   * In a cluster, the only level this command's settings live at (the machine's own settings; the
   * cluster-wide accounts): run elsewhere, the shell offers to switch, as the appliance does.
   */
  level?: 'machine' | 'cluster';
  run(session: Session, args: string[]): Promise<void>;
}

type OptionSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

const usageLines = (command: Pick<Command, 'usage'>) => `Usage: ${command.usage.join('\n       ')}`;

/**
 * Parse `--option value` words of a batch form; unknown options are errors that name the usage.
 * A negative number is a value, not an option: `--days -5` reaches the option's own check.
 */
export function parseOptions<S extends OptionSpec>(command: Pick<Command, 'usage'>, args: string[], options: S) {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = /^--([^=]+)$/.exec(args[i]!)?.[1];
    if (name && options[name]?.type === 'string' && /^-\d/.test(args[i + 1] ?? '')) joined.push(`${args[i]}=${args[++i]}`);
    else joined.push(args[i]!);
  }
  try {
    return parseArgs({ args: joined, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CommandError(`${(err as Error).message.replace(/\. To specify a positional.*$/s, '')}\n${usageLines(command)}`);
  }
}

/** Words beyond what a batch form takes are an error that names them (never silently dropped). */
export function noMoreWords(command: Pick<Command, 'usage'>, extra: readonly string[]): void {
  if (extra.length === 0) return;
  throw new CommandError(`Unexpected ${extra.length === 1 ? 'word' : 'words'} "${extra.join(' ')}".\n${usageLines(command)}`);
}

/** The positional words of a batch form, at most `max` of them. */
export function takeWords(command: Pick<Command, 'usage'>, words: readonly string[], max: number): string[] {
  noMoreWords(command, words.slice(max));
  return [...words];
}

export function required(command: Command, value: string | undefined, what: string): string {
  if (value === undefined || value === '') throw new CommandError(`${what} is required.\n${usageLines(command)}`);
  return value;
}

/** The commands a shell runs, handed to it (cli.ts, and SSH through the composition root). */
export interface CommandRegistry {
  all(): readonly Command[];
  /** A command by name or alias, any case. */
  find(name: string): Command | undefined;
}
