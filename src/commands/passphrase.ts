import { CommandError } from '../shell/errors.js';
import type { Session } from '../shell/session.js';
import { readConfigFile } from './files.js';

/** A passphrase from --passphrase-file (first line; a bare name is in the configuration directory). */
export async function readPassphraseFile(session: Session, file: string): Promise<string> {
  const pass = (await readConfigFile(session, file)).toString('utf8').split(/\r?\n/)[0] ?? '';
  if (!pass) throw new CommandError(`The passphrase file ${file} is empty.`);
  return pass;
}
