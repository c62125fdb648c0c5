import { Chalk, chalkStderr } from 'chalk';

/**
 * Colour at a terminal only: chalk turns itself off when the stream is not a TTY and honours
 * NO_COLOR / FORCE_COLOR, so pipes and transcripts stay plain text.
 */
const out = new Chalk();

export const paint = {
  error: (text: string) => out.red(text),
  warning: (text: string) => out.yellow(text),
  /** The command prompt (`hostname> `). */
  prompt: (text: string) => out.bold(text),
  /** The default answer shown in `[default]> `. */
  answer: (text: string) => out.cyan(text),
  /** stderr has its own terminal check. */
  stderrError: (text: string) => chalkStderr.red(text),
};

/** `[default]> ` with the default in colour; other prompts (`host> `) in bold. */
export function paintPrompt(prompt: string): string {
  const m = /^\[(.*)\]> $/.exec(prompt);
  if (m) return m[1] === '' ? prompt : `[${paint.answer(m[1]!)}]> `;
  return prompt === '' ? prompt : paint.prompt(prompt);
}
