import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { BIN, TEST_ENV } from './helpers.js';
import { tool } from './system-tools.js';

/** Keys as a terminal sends them. */
export const KEY = { enter: '\r', ctrlC: '\x03', ctrlD: '\x04', tab: '\t' } as const;

/**
 * The real shell on a pseudo-terminal: util-linux `script` gives the program a TTY and copies
 * what we write to it as keystrokes, so readline, Ctrl-C, Ctrl-D and Tab behave as at a console.
 */
export class Terminal {
  readonly child: ChildProcessWithoutNullStreams;
  output = '';
  private readonly closed: Promise<number | null>;

  constructor(home: string, args: string[] = [], env: Record<string, string> = {}, argv = [process.execPath, BIN, '--home', home, ...args]) {
    const command = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    // The pseudo-terminal gets a real size (40 x 120), as a console window has.
    this.child = spawn(tool('script'), ['-qfec', `stty rows 40 cols 120; exec ${command}`, '/dev/null'], { env: { ...TEST_ENV, TERM: 'xterm', ...env } });
    this.child.stdout.on('data', (d: Buffer) => (this.output += d.toString()));
    this.child.stderr.on('data', (d: Buffer) => (this.output += d.toString()));
    this.closed = new Promise((resolve) => this.child.on('close', resolve));
  }

  /** Any program (an ssh client) on the pseudo-terminal, instead of the local shell. */
  static program(argv: string[], env: Record<string, string> = {}): Terminal {
    return new Terminal('', [], env, argv);
  }

  /** Type keys (no Enter added). */
  type(keys: string): void {
    this.child.stdin.write(keys);
  }

  /** Type a line and Enter. */
  line(text: string): void {
    this.type(text + KEY.enter);
  }

  /** Output without colour and cursor codes. */
  get text(): string {
    // eslint-disable-next-line no-control-regex
    return this.output.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
  }

  /** Wait until the plain output after `from` characters matches; returns where the match ends. */
  async waitFor(pattern: RegExp, from = 0, timeoutMs = 15_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const text = this.text;
      const m = pattern.exec(text.slice(from));
      if (m) return from + m.index + m[0].length;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`timed out waiting for ${pattern}; output so far:\n${this.text}`);
  }

  /** The exit status of the shell (script passes it on). */
  exited(): Promise<number | null> {
    return this.closed;
  }

  kill(): void {
    this.child.kill();
  }
}
