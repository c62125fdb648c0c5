import { Writable } from 'node:stream';
import type { ServerChannel } from 'ssh2';
import { ArraySource, ReadlineSource } from '../shell/lineSource.js';
import type { Output } from '../shell/io.js';
import type { ShellOptions } from '../shell/repl.js';

/** The appliance shell, with its commands already chosen (the composition root binds them). */
export type RunShell = (options: Omit<ShellOptions, 'commands'>) => Promise<number>;
import type { Account } from '../shell/session.js';
import type { DataPaths } from '../store/paths.js';
import type { Caller } from '../control/protocol.js';

export interface Pty {
  cols: number;
  rows: number;
  term: string;
}

/**
 * What the shell writes, on its way to a client's terminal. The terminal is in raw mode at the
 * other end, so a bare "\n" must become "\r\n"; the window size is the client's, changed by
 * window-change requests (readline redraws on 'resize').
 */
class TerminalOutput extends Writable {
  columns: number;
  rows: number;
  readonly isTTY = true;
  private lastWasCr = false;

  constructor(
    private readonly channel: ServerChannel,
    pty: Pty,
  ) {
    super({ decodeStrings: false });
    this.columns = pty.cols || 80;
    this.rows = pty.rows || 24;
  }

  resize(cols: number, rows: number): void {
    this.columns = cols || this.columns;
    this.rows = rows || this.rows;
    this.emit('resize');
  }

  /**
   * Prompt libraries (@inquirer) end the stream they were given when their prompt is answered; a
   * local stdout ignores that, and so does this one: the channel lives as long as the session.
   */
  override end(...args: unknown[]): this {
    const done = args.find((a) => typeof a === 'function') as (() => void) | undefined;
    done?.();
    return this;
  }

  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    const text = chunk.toString();
    let out = '';
    for (const ch of text) {
      if (ch === '\n' && !this.lastWasCr) out += '\r';
      out += ch;
      this.lastWasCr = ch === '\r';
    }
    if (!this.channel.writable) return done();
    this.channel.write(out);
    done();
  }
}

export interface ShellRequest {
  paths: DataPaths;
  account: Account;
  /** The engine's operations as that account. */
  engine: Caller;
  channel: ServerChannel;
  /** Set when the client asked for a pseudo-terminal (`ssh -t`, or an interactive `ssh`). */
  pty?: Pty;
  /** `ssh host COMMAND`: the command line(s) to run, as `mxgate -c` does. */
  command?: string;
  /** The account's lines from its earlier sessions, newest first (interactive sessions). */
  history?: string[];
}

/**
 * Run the appliance shell on an SSH channel, as the account, and return its exit status.
 * - With a pseudo-terminal and no command: the interactive shell (line editing, history, Tab,
 *   masked passphrases, Ctrl-C, Ctrl-D as quit), as at a local console.
 * - Without one: the channel's input is a script, with the semantics of a local pipe (prompts
 *   echoed, stop at the first failing line, exit 1).
 * - With a command: the command's batch form, as `mxgate -c`.
 */
export function startChannelShell(shell: RunShell, request: ShellRequest): { done: Promise<number>; resize: (cols: number, rows: number) => void; hangup: () => void; history: () => string[] } {
  const { channel, pty } = request;
  const terminal = pty ? new TerminalOutput(channel, pty) : undefined;
  const output: Output = terminal
    ? {
        out: (t) => void terminal.write(t),
        err: (t) => void terminal.write(t),
        sameTerminal: true,
        // The window's height now, for paging: window-change requests update it.
        get rows() {
          return terminal.rows;
        },
      }
    : { out: (t) => void (channel.writable && channel.write(t)), err: (t) => void (channel.writable && channel.stderr.write(t)) };
  const lines = request.command?.split(/\r?\n/).filter((l) => l.trim() !== '');
  const source = lines ? new ArraySource(lines) : new ReadlineSource(channel, terminal ?? channel, { terminal: terminal !== undefined, history: request.history });
  const done = shell({ paths: request.paths, source, prompts: !lines, startEngine: !lines, output, account: request.account, engine: request.engine }).then((failures) => (failures ? 1 : 0));
  // The client went away (or idled out): the shell sees the end of its input and stops there.
  return { done, resize: (cols, rows) => terminal?.resize(cols, rows), hangup: () => source.close(), history: () => (source instanceof ReadlineSource ? source.history : []) };
}
