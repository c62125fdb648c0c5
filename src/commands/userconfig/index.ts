import { type Command, parseOptions, required, takeWords } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { formatTable } from '../../shell/table.js';
import { addUser, checkAccountName, deleteUser, findUser, hashPassword, parseRole, setUser } from '../../store/accounts/users.js';
import { newPassword } from './password.js';

export const userconfig: Command = {
  name: 'userconfig',
  level: 'cluster',
  summary: 'Accounts for HTTPS and SSH access (administrator, operator, guest)',
  usage: ['userconfig', 'userconfig new NAME --role administrator|operator|guest [--password-file FILE]', 'userconfig edit NAME --role ROLE', 'userconfig delete NAME', 'userconfig unlock NAME'],
  details: [
    'Administrators may do everything; operators everything but certificates and accounts; guests only look.',
    'Passwords (at least 10 characters, not containing the name) are kept as scrypt hashes only and never',
    'shown. Without --password-file the password is asked twice (hidden) at a terminal. "passwd NAME"',
    'changes a password. Changes take effect at "commit". The local shell runs as its operating-system user.',
    'Five failed password logins for an account from one address lock it for that address for 15 minutes',
    '(other addresses and SSH key logins are not affected); "unlock" lifts its locks at once (administrators).',
  ],
  keywords: ['new', 'edit', 'delete', 'unlock'],
  names: (c) => c.users.map((u) => u.name),
  async run(session, args) {
    const [verb, ...rest] = args;
    const { values, positionals } = parseOptions(this, rest, { role: { type: 'string' }, 'password-file': { type: 'string' } });
    const io = session.io;
    const list = async () => {
      const users = session.draft.users;
      io.print(...(users.length ? formatTable(['Account', 'Role', 'SSH keys'], users.map((u) => [u.name, u.role, String(u.sshKeys?.length ?? 0)])) : ['No accounts: HTTPS and SSH access have nobody to log in.']));
      const { lockouts } = await session.call('status');
      for (const l of lockouts) io.print(`Locked out: ${l.account} from ${l.addresses.join(', ')} ("userconfig unlock ${l.account}" lifts it)`);
    };
    switch ((verb ?? 'list').toLowerCase()) {
      case 'list':
        takeWords(this, positionals, 0);
        return list();
      case 'new': {
        const name = checkAccountName(required(this, takeWords(this, positionals, 1)[0], 'NAME'));
        const role = parseRole(required(this, values.role, '--role'));
        const password = await newPassword(session, name, values['password-file']);
        session.draft = addUser(session.draft, { name, role, passwordHash: await hashPassword(password) });
        io.print(`Account ${name} (${role}) created; it can log in after "commit".`);
        return;
      }
      case 'edit': {
        const name = required(this, takeWords(this, positionals, 1)[0], 'NAME');
        session.draft = setUser(session.draft, name, { role: parseRole(required(this, values.role, '--role')) });
        return list();
      }
      case 'unlock': {
        const name = required(this, takeWords(this, positionals, 1)[0], 'NAME').toLowerCase();
        if (!findUser(session.committed, name)) throw new CommandError(`There is no committed account named "${name}".`);
        const { lifted } = await session.call('unlock', { account: name });
        io.print(lifted ? `Account ${name} unlocked: it was locked out from ${lifted} address(es).` : `Account ${name} was not locked out; its failed logins are forgotten.`);
        return;
      }
      case 'delete': {
        const name = required(this, takeWords(this, positionals, 1)[0], 'NAME');
        session.draft = deleteUser(session.draft, name);
        io.print(`Account ${name.toLowerCase()} deleted (after "commit").`);
        return;
      }
      default:
        throw new CommandError(`Unknown operation "${verb}".\nUsage: ${this.usage.join('\n       ')}`);
    }
  },
};
