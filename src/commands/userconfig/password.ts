import { CommandError } from '../../shell/errors.js';
import type { Session } from '../../shell/session.js';
import { passwordProblem } from '../../store/accounts/users.js';
import { readPassphraseFile } from '../passphrase.js';

/** A new password for `name`: from --password-file (first line), else typed twice, hidden. */
export async function newPassword(session: Session, name: string, file: string | undefined): Promise<string> {
  let password: string;
  if (file !== undefined) password = await readPassphraseFile(session, file);
  else if (session.io.interactive) password = await session.io.newSecret(`Enter the password for ${name}:`, 'Enter the password again:', (p) => passwordProblem(name, p));
  else throw new CommandError('Give --password-file FILE (a file in the configuration directory, first line): a script does not type passwords.');
  const problem = passwordProblem(name, password);
  if (problem) throw new CommandError(problem);
  return password;
}
