import { CommandError } from './errors.js';
import type { LineSource } from './lineSource.js';
import { UserError } from '../userError.js';
import { paint } from './colors.js';
import { InvalidAnswer } from '../store/answers.js';

/** Loaded at a terminal only: scripts never pay for it. */
const inquirer = () => import('@inquirer/prompts');

export interface Output {
  out(text: string): void;
  err(text: string): void;
  /** Both go to the same terminal (mxgate -c at a TTY): an error is written once, not twice. */
  readonly sameTerminal?: boolean;
  /** Lines on the screen, at a terminal. */
  readonly rows?: number;
}

export const stdOutput: Output = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  get sameTerminal() {
    return Boolean(process.stdout.isTTY && process.stderr.isTTY);
  },
  get rows() {
    return process.stdout.isTTY ? process.stdout.rows : undefined;
  },
};

export interface MenuItem {
  keyword: string;
  text: string;
}

export interface MenuAction extends MenuItem {
  run: () => Promise<void>;
}

export interface Choice<T> {
  label: string;
  value: T;
}

/** What a validator throws to have the question asked again (the checks live in store/answers.ts). */
export { InvalidAnswer };

type Validate<T> = (answer: string) => T;

/**
 * The small prompt interface every dialog is written against (DESIGN.md "Shell"). Questions look
 * like the appliance's: the question on one line, then `[default]> `. An invalid answer prints
 * the reason and asks again; end of input throws EndOfInput out of the dialog.
 */
export class Io {
  constructor(
    readonly source: LineSource,
    private readonly output: Output = stdOutput,
  ) {}

  get interactive(): boolean {
    return this.source.interactive;
  }

  print(...lines: string[]): void {
    for (const l of lines) this.output.out(l + '\n');
  }

  /**
   * Long output (CA lists, configuration, alerts): a screenful at a time at a terminal, with a
   * "More" prompt between pages; everything at once on a pipe.
   */
  async page(lines: string[]): Promise<void> {
    const rows = this.interactive ? (this.output.rows ?? 0) : 0;
    if (rows < 5 || lines.length < rows) return this.print(...lines);
    const size = rows - 2;
    for (let i = 0; i < lines.length; i += size) {
      this.print(...lines.slice(i, i + size));
      if (i + size >= lines.length) return;
      if (this.source.key) {
        // Any key: the next page; q (or Ctrl-C): stop. No Enter needed.
        const key = await this.source.key(`-- More -- (${i + size} of ${lines.length} lines; any key: next page, q: stop) `);
        if (key.toLowerCase() === 'q' || key === '\x03') return;
        continue;
      }
      const answer = await this.source.read(`-- More -- (${i + size} of ${lines.length} lines; Enter: next page, q: stop) `);
      if (answer.trim().toLowerCase() === 'q') return;
    }
  }

  warn(text: string): void {
    this.print(paint.warning(`Warning: ${text}`));
  }

  /** An error in the transcript; in scripts also on stderr (once, when both are the same terminal). */
  error(text: string): void {
    if (this.interactive || !this.output.sameTerminal) this.output.out(`${paint.error(`Error: ${text}`)}\n`);
    if (!this.interactive) this.output.err(`${paint.stderrError(`mxgate: ${text}`)}\n`);
  }

  /** Free text. `validate` may normalise the answer or throw InvalidAnswer / CommandError. */
  async ask<T = string>(
    question: string,
    options: { default?: string; allowEmpty?: boolean; validate?: Validate<T> } = {},
  ): Promise<T> {
    const validate = options.validate ?? ((s: string) => s as unknown as T);
    for (;;) {
      this.print(question);
      const raw = (await this.source.read(`[${options.default ?? ''}]> `)).trim();
      const answer = raw === '' && options.default !== undefined ? options.default : raw;
      if (answer === '' && !options.allowEmpty) {
        // A script gets no second chance: re-asking would swallow the lines that follow.
        if (!this.interactive) throw new InvalidAnswer(`${question} A value is required.`);
        this.print('A value is required.');
        continue;
      }
      try {
        return validate(answer);
      } catch (err) {
        if (!(err instanceof UserError)) throw err;
        if (!this.interactive) throw new InvalidAnswer(`${question} "${answer}": ${(err as Error).message}`);
        this.print((err as Error).message);
      }
    }
  }

  async askInt(question: string, options: { default?: number; min: number; max: number }): Promise<number> {
    return this.ask(question, {
      default: options.default?.toString(),
      validate: (s) => {
        const n = /^-?\d+$/.test(s) ? Number(s) : NaN;
        if (!Number.isInteger(n) || n < options.min || n > options.max) {
          throw new InvalidAnswer(`Please enter a whole number from ${options.min} to ${options.max}.`);
        }
        return n;
      },
    });
  }

  /**
   * A numbered list; the answer is the number (or the label, typed out). At a terminal the list is
   * a menu to move through with the arrow keys (typing the number still picks it).
   */
  async choose<T>(question: string, choices: Choice<T>[], defaultIndex = 1): Promise<T> {
    if (choices.length === 0) throw new CommandError(`${question} — there is nothing to choose from.`);
    if (this.interactive && this.source.external) {
      const { select } = await inquirer();
      const index = await this.source.external(({ input, output }) =>
        select(
          { message: question, choices: choices.map((c, i) => ({ name: `${i + 1}. ${c.label}`, value: i })), default: defaultIndex - 1, pageSize: 12, loop: false },
          { input, output },
        ),
      );
      return choices[index]!.value;
    }
    for (;;) {
      this.print(question);
      choices.forEach((c, i) => this.print(`${i + 1}. ${c.label}`));
      const raw = (await this.source.read(`[${defaultIndex}]> `, { completions: completer(choices.map((c) => c.label)) })).trim();
      if (raw === '') return choices[defaultIndex - 1]!.value;
      const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
      if (n >= 1 && n <= choices.length) return choices[n - 1]!.value;
      const byLabel = choices.find((c) => c.label.toLowerCase() === raw.toLowerCase());
      if (byLabel) return byLabel.value;
      if (!this.interactive) throw new InvalidAnswer(`${question} "${raw}" is not a valid choice (1 to ${choices.length}).`);
      this.print(`"${raw}" is not a valid choice. Enter a number from 1 to ${choices.length}.`);
    }
  }

  async confirm(question: string, defaultYes: boolean): Promise<boolean> {
    for (;;) {
      const raw = (await this.source.read(`${question} [${defaultYes ? 'Y' : 'N'}]> `, { completions: completer(['Y', 'N']) })).trim().toLowerCase();
      if (raw === '') return defaultYes;
      if (raw === 'y' || raw === 'yes') return true;
      if (raw === 'n' || raw === 'no') return false;
      if (!this.interactive) throw new InvalidAnswer(`${question} "${raw}": please answer Y or N.`);
      this.print('Please answer Y or N.');
    }
  }

  /** Not echoed on a TTY (masked with *), never echoed in transcripts. */
  async secret(question: string): Promise<string> {
    if (this.interactive && this.source.external) {
      const { password } = await inquirer();
      return this.source.external(({ input, output }) =>
        password({ message: question, mask: '*', validate: (v) => (v === '' ? 'A value is required.' : true) }, { input, output }),
      );
    }
    for (;;) {
      this.print(question);
      const answer = await this.source.read('> ', { secret: true });
      if (answer !== '') return answer;
      if (!this.interactive) throw new InvalidAnswer(`${question} A value is required.`);
      this.print('A value is required.');
    }
  }

  /** A new secret, typed twice; one that `check` finds a problem with is asked again at once (at a terminal). */
  async newSecret(question: string, confirmQuestion: string, check?: (secret: string) => string | undefined): Promise<string> {
    for (;;) {
      const first = await this.secret(question);
      const problem = check?.(first);
      if (problem) {
        if (!this.interactive) throw new InvalidAnswer(`${question} ${problem}`);
        this.print(`${problem} Please try again.`);
        continue;
      }
      const second = await this.secret(confirmQuestion);
      if (first === second) return first;
      if (!this.interactive) throw new InvalidAnswer(`${confirmQuestion} The two entries do not match.`);
      this.print('The two entries do not match. Please try again.');
    }
  }

  /** Multi-line paste (PEM), ended by a line holding only ".". */
  async paste(question: string): Promise<string> {
    this.print(`${question} (end with '.')`);
    const lines: string[] = [];
    for (;;) {
      const line = await this.source.read('');
      if (line.trim() === '.') return lines.join('\n') + '\n';
      lines.push(line);
    }
  }

  /**
   * An appliance menu. Returns the chosen keyword in upper case, or undefined for an empty answer
   * (go up one level).
   */
  async menu(items: MenuItem[], title = 'Choose the operation you want to perform:'): Promise<string | undefined> {
    for (;;) {
      this.print('', title);
      for (const item of items) this.print(`- ${item.keyword} - ${item.text}`);
      const raw = (await this.source.read('[]> ', { completions: completer(items.map((i) => i.keyword)) })).trim();
      if (raw === '') return undefined;
      const hit = items.find((i) => i.keyword.toLowerCase() === raw.toLowerCase());
      if (hit) return hit.keyword.toUpperCase();
      if (!this.interactive) throw new InvalidAnswer(`Unknown option "${raw}". Choose one of: ${items.map((i) => i.keyword).join(', ')}.`);
      this.print(`Unknown option "${raw}". Choose one of: ${items.map((i) => i.keyword).join(', ')}.`);
    }
  }

  /** A spinner on a TTY while `work` runs (key generation); nothing on a pipe. */
  async spin<T>(label: string, work: Promise<T>): Promise<T> {
    if (!this.interactive) return work;
    const frames = ['|', '/', '-', '\\'];
    let i = 0;
    const timer = setInterval(() => this.output.out(`\r${label} ${frames[i++ % frames.length]}`), 100);
    try {
      return await work;
    } finally {
      clearInterval(timer);
      this.output.out(`\r${label} done.\n`);
    }
  }

  /** The usual command dialog: show the state, offer the menu, run the choice, until an empty answer. */
  async menuLoop(show: () => void | Promise<void>, actions: MenuAction[]): Promise<void> {
    for (;;) {
      await show();
      const keyword = await this.menu(actions);
      if (keyword === undefined) return;
      try {
        await actions.find((a) => a.keyword.toUpperCase() === keyword)!.run();
      } catch (err) {
        // At a terminal a user mistake is one line, then the same menu again; a script stops.
        if (!(err instanceof UserError) || !this.interactive) throw err;
        this.error(err.message);
      }
    }
  }
}

/** Tab completion over fixed words, case-insensitive. */
export function completer(words: string[]): (line: string) => string[] {
  return (line) => {
    const hits = words.filter((w) => w.toLowerCase().startsWith(line.trim().toLowerCase()));
    return hits.length ? hits : words;
  };
}
