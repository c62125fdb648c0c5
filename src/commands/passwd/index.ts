import { type Command, parseOptions, takeWords } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { findUser, hashPassword, setUser } from '../../store/accounts/users.js';
import { newPassword } from '../userconfig/password.js';

export const passwd: Command = {
  name: 'passwd',
  level: 'cluster',
  summary: 'Change the password of an account',
  usage: ['passwd [NAME] [--password-file FILE]'],
  details: ['Without NAME: the account named like this session\'s operating-system user. Takes effect at "commit".'],
  async run(session, args) {
    const { values, positionals } = parseOptions(this, args, { 'password-file': { type: 'string' } });
    const name = (takeWords(this, positionals, 1)[0] ?? session.user).toLowerCase();
    if (!findUser(session.draft, name)) {
      throw new CommandError(`There is no account ${name}${positionals.length ? '' : ' (this session\'s user)'}; "userconfig" lists them, "userconfig new" makes one.`);
    }
    const password = await newPassword(session, name, values['password-file']);
    session.draft = setUser(session.draft, name, { passwordHash: await hashPassword(password) });
    session.io.print(`The password of ${name} will change at "commit".`);
  },
};
