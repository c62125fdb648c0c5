import { CommandError } from './errors.js';

/**
 * Split a command line into words. Single and double quotes group words; a backslash escapes the
 * next character outside quotes, and '"' or '\\' inside double quotes. `listenerconfig new "My Listener"`
 * gives three words.
 */
export function tokenize(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      // As in a POSIX shell, a backslash in double quotes escapes only '"' and '\\' ("\d" stays \d for grep).
      else if (ch === '\\' && quote === '"' && (line[i + 1] === '"' || line[i + 1] === '\\')) word += line[++i];
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote) throw new CommandError(`Unbalanced ${quote === '"' ? 'double' : 'single'} quote in: ${line}`);
  if (inWord) words.push(word);
  return words;
}
