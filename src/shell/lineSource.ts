import readline from 'node:readline';
import { Writable } from 'node:stream';
import { EndOfInput, Interrupted } from './errors.js';
import { paintPrompt } from './colors.js';

export interface ReadOptions {
  /** Do not echo what is typed (passphrases). */
  secret?: boolean;
  /** Words offered by Tab completion at this prompt. */
  completions?: (line: string) => string[];
  /** The line is a command: it goes into the history Up recalls (a dialog's answers do not). */
  command?: boolean;
}

/** Where the shell reads its lines from: a person at a TTY, a pipe, or `-c` arguments. */
export interface LineSource {
  readonly interactive: boolean;
  /** Lines read so far, prompts and answers alike: the physical line number of the last one. */
  readonly linesRead: number;
  /** What a position in this input is called in messages ("line", or "-c argument"). */
  readonly unit?: string;
  /** Next line, after showing `prompt`; throws EndOfInput at the end of input. */
  read(prompt: string, options?: ReadOptions): Promise<string>;
  /**
   * At a terminal: run a prompt that reads the keyboard itself (@inquirer/prompts) while the line
   * reader is out of the way. Ctrl-C in it is Interrupted, as at any prompt.
   */
  external?<T>(prompt: (context: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream }) => Promise<T>): Promise<T>;
  /** At a terminal: show `prompt` and return the next key pressed, without waiting for Enter (the pager). */
  key?(prompt: string): Promise<string>;
  close(): void;
}

type Waiter = { resolve: (line: string) => void; reject: (err: Error) => void };

/**
 * One readline interface for the whole session. Lines are queued as they arrive, so piped input is
 * never lost between prompts. On a TTY: line editing, history, Tab completion, masked secrets. On a
 * pipe: each prompt is echoed with its answer, so the output reads like a session transcript.
 */
export class ReadlineSource implements LineSource {
  readonly interactive: boolean;
  linesRead = 0;
  private rl!: readline.Interface;
  private readonly lines: string[] = [];
  private waiter: Waiter | undefined;
  private ended = false;
  /** Ctrl-D typed while no prompt was waiting: the next read reports it. */
  private keyboardEof = false;
  private closing = false;
  /** The line reader is closed while an external prompt has the keyboard. */
  private suspended = false;
  private muted = false;
  private completions: ((line: string) => string[]) | undefined;
  /** Ends a key() that waits (the session is closed meanwhile). */
  private pendingKey: (() => void) | undefined;
  /** What readline writes to at a terminal: one for the session, so a resize listener is added once. */
  private proxy: Writable | undefined;

  constructor(
    private readonly input: NodeJS.ReadableStream & { isTTY?: boolean; readableEnded?: boolean } = process.stdin,
    private readonly output: NodeJS.WritableStream & { columns?: number } = process.stdout,
    /**
     * An SSH channel with a pseudo-terminal is a terminal without being a local TTY; an SSH
     * account's earlier lines (newest first) are its history.
     */
    options: { terminal?: boolean; history?: string[] } = {},
  ) {
    this.interactive = options.terminal ?? Boolean(input.isTTY);
    this.open([...(options.history ?? [])]);
  }

  /** The lines typed so far, newest first (what Up brings back), without passphrases. */
  get history(): string[] {
    return [...((this.rl as unknown as { history?: string[] }).history ?? [])];
  }

  /**
   * readline closes itself on Ctrl-D at an empty line. At a terminal that is a key, not the end of
   * the input: report it to the waiting prompt and open a new interface with the same history.
   */
  private open(history: string[]): void {
    this.rl = readline.createInterface({
      input: this.input,
      output: this.interactive ? (this.proxy ??= this.mutableOutput()) : undefined,
      terminal: this.interactive,
      historySize: 500,
      history,
      completer: (line: string) => {
        const hits = this.completions?.(line) ?? [];
        return [hits, line];
      },
    });
    const rl = this.rl;
    rl.on('line', (line) => {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w.resolve(line);
      } else {
        this.lines.push(line);
      }
    });
    rl.on('close', () => {
      if (this.suspended) return;
      const keyboard = this.interactive && !this.closing && !this.input.readableEnded;
      if (keyboard) {
        this.output.write('^D\n');
        this.open(this.history);
        if (this.waiter) {
          const w = this.waiter;
          this.waiter = undefined;
          w.reject(new EndOfInput(true));
        } else {
          this.keyboardEof = true;
        }
        return;
      }
      this.ended = true;
      this.waiter?.reject(new EndOfInput());
      this.waiter = undefined;
    });
    rl.on('SIGINT', () => {
      // Drop what was typed (readline redraws the prompt), then mark the interruption.
      rl.write(null, { ctrl: true, name: 'u' });
      this.output.write('^C\n');
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w.reject(new Interrupted());
      }
    });
  }

  async read(prompt: string, options: ReadOptions = {}): Promise<string> {
    this.completions = options.completions;
    if (!this.interactive) {
      const line = await this.next();
      this.output.write(`${prompt}${options.secret ? '' : line}\n`);
      return line;
    }
    this.rl.setPrompt(paintPrompt(prompt));
    this.rl.prompt();
    this.muted = Boolean(options.secret);
    // Only commands go into the line history (Up recalls them): not a dialog's answers, never a passphrase.
    const history = (this.rl as unknown as { history?: string[] }).history;
    const [length, newest] = [history?.length, history?.[0]];
    const keep = options.command === true && !options.secret;
    try {
      return await this.next();
    } finally {
      if (options.secret) {
        this.muted = false;
        this.output.write('\n');
      }
      // readline added the line unless it repeats the newest entry.
      const now = (this.rl as unknown as { history?: string[] }).history;
      if (!keep && now === history && now && (now.length !== length || now[0] !== newest)) now.shift();
    }
  }

  async external<T>(prompt: (context: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream }) => Promise<T>): Promise<T> {
    // Loaded here, not at start-up: scripts never need it (one copy in the tree: package.json pins it).
    const { AbortPromptError, ExitPromptError } = await import('@inquirer/core');
    const history = this.history;
    this.suspended = true;
    this.rl.close();
    try {
      return await prompt({ input: this.input, output: this.output });
    } catch (err) {
      // Ctrl-C inside the prompt: the same as at any other prompt.
      if (err instanceof ExitPromptError || err instanceof AbortPromptError) throw new Interrupted();
      throw err;
    } finally {
      this.suspended = false;
      this.open(history);
    }
  }

  /**
   * One key, without Enter: the line reader steps aside (as for an external prompt), the first
   * character of the next input is the key, and anything typed after it goes back to the input for
   * the next prompt, so nothing typed is lost.
   */
  async key(prompt: string): Promise<string> {
    if (!this.interactive) return (await this.read(prompt)).slice(0, 1);
    const history = this.history;
    this.suspended = true;
    this.rl.close();
    this.output.write(paintPrompt(prompt));
    const tty = this.input as NodeJS.ReadStream;
    const raw = typeof tty.setRawMode === 'function';
    if (raw) tty.setRawMode(true);
    try {
      return await new Promise<string>((resolve) => {
        const finish = (key: string) => {
          this.input.removeListener('data', onData);
          this.input.removeListener('end', onEnd);
          this.pendingKey = undefined;
          resolve(key);
        };
        const onData = (chunk: Buffer | string) => {
          this.input.pause();
          const text = chunk.toString();
          const rest = text.slice(1);
          if (rest) (this.input as NodeJS.ReadableStream & { unshift(chunk: string): void }).unshift(rest);
          finish(text.slice(0, 1));
        };
        // The input ends, or the session is closed (an SSH hang-up), while the pager waits: it stops.
        const onEnd = () => finish('q');
        this.pendingKey = () => finish('q');
        this.input.on('data', onData);
        this.input.once('end', onEnd);
        this.input.resume();
      });
    } finally {
      if (raw) tty.setRawMode(false);
      this.output.write('\n');
      this.suspended = false;
      if (!this.closing) this.open(history);
    }
  }

  close(): void {
    this.closing = true;
    // The line reader is already closed while a key is awaited: the input has ended for good.
    if (this.suspended) this.ended = true;
    this.pendingKey?.();
    this.rl.close();
  }

  private next(): Promise<string> {
    if (this.keyboardEof) {
      this.keyboardEof = false;
      return Promise.reject(new EndOfInput(true));
    }
    const queued = this.lines.shift();
    if (queued !== undefined) {
      this.linesRead += 1;
      return Promise.resolve(queued);
    }
    if (this.ended) return Promise.reject(new EndOfInput());
    return new Promise((resolve, reject) => (this.waiter = { resolve: (line) => ((this.linesRead += 1), resolve(line)), reject }));
  }

  /** readline echoes typed characters to its output; this one can be silenced for secrets. */
  private mutableOutput(): Writable {
    const target = this.output;
    const proxy = new Writable({
      write: (chunk: Buffer | string, _enc, cb) => {
        if (!this.muted) target.write(chunk);
        cb();
      },
    });
    Object.defineProperty(proxy, 'columns', { get: () => target.columns ?? 80 });
    Object.defineProperty(proxy, 'isTTY', { value: true });
    // A window that changes size (SIGWINCH locally, window-change over SSH): readline redraws.
    (target as NodeJS.WritableStream & { on?: (e: string, f: () => void) => void }).on?.('resize', () => proxy.emit('resize'));
    return proxy;
  }
}

/** The lines given with `mxgate -c`: no prompts are shown, and a dialog that wants more input ends. */
export class ArraySource implements LineSource {
  readonly interactive = false;
  readonly unit = '-c argument';
  linesRead = 0;
  constructor(private readonly lines: string[]) {}

  read(): Promise<string> {
    const line = this.lines.shift();
    if (line === undefined) return Promise.reject(new EndOfInput());
    this.linesRead += 1;
    return Promise.resolve(line);
  }

  close(): void {
    this.lines.length = 0;
  }
}
