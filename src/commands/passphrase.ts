import { readFile } from 'node:fs/promises';
import { CommandError } from '../shell/errors.js';
import type { Session } from '../shell/session.js';
import { configurationFile } from '../store/paths.js';

/** A passphrase from --passphrase-file (first line; a bare name is in the configuration directory). */
export async function readPassphraseFile(session: Session, file: string): Promise<string> {
  const full = configurationFile(session.paths, file);
  let text: string;
  try {
    text = await readFile(full, 'utf8');
  } catch (err) {
    throw new CommandError(`Cannot read the passphrase file ${full}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const pass = text.split(/\r?\n/)[0] ?? '';
  if (!pass) throw new CommandError(`The passphrase file ${full} is empty.`);
  return pass;
}
