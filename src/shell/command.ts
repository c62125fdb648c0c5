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
  /** False for commands that work without the engine (help, version, quit). */
  needsConfig?: boolean;
  run(session: Session, args: string[]): Promise<void>;
}

type OptionSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

/** Parse `--option value` words of a batch form; unknown options are errors that name the usage. */
export function parseOptions<S extends OptionSpec>(command: Pick<Command, 'usage'>, args: string[], options: S) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CommandError(`${(err as Error).message.replace(/\. To specify a positional.*$/s, '')}\nUsage: ${command.usage.join('\n       ')}`);
  }
}

export function required(command: Command, value: string | undefined, what: string): string {
  if (value === undefined || value === '') throw new CommandError(`${command.name}: ${what} is required.\nUsage: ${command.usage.join('\n       ')}`);
  return value;
}
