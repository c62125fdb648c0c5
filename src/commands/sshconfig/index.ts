import { type Command, parseOptions, required, takeWords } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import type { Session } from '../../shell/session.js';
import { formatTable } from '../../shell/table.js';
import { describeSsh, setSshSettings, SSH_LIMITS } from '../../store/network/interfaces.js';
import { addSshKey, deleteSshKey, findUser, sshKeysOf } from '../../store/accounts/users.js';
import { readConfigFile } from '../files.js';
import { optionalCount } from '../../store/answers.js';

const USAGE = [
  'sshconfig',
  'sshconfig hostkey print',
  'sshconfig userkey new NAME --key "ssh-ed25519 AAAA… comment" | --key-file FILE',
  'sshconfig userkey delete NAME N',
  'sshconfig userkey print NAME',
  'sshconfig password-auth enable|disable',
  'sshconfig setup [--idle-timeout MINUTES] [--max-sessions N]',
];

function showSettings(session: Session): void {
  const { ssh, interfaces } = session.draft;
  const on = interfaces.filter((i) => i.ssh);
  session.io.print(
    '',
    `SSH service: ${on.length ? on.map((i) => `${i.name} (${i.ip}) ${describeSsh(i)}`).join(', ') : 'off on every interface ("interfaceconfig edit NAME --ssh PORT" turns it on)'}`,
    `Password login: ${ssh.passwordAuth ? 'enabled' : 'disabled (public keys only)'}`,
    `Idle sessions are closed after ${ssh.idleTimeoutMinutes} minute(s); at most ${ssh.maxSessions} session(s) at once.`,
  );
}

async function printHostKeys(session: Session): Promise<void> {
  const keys = await session.call('ssh-hostkeys');
  session.io.print(`SSH host keys of ${session.committed.hostname} (compare with what the client shows at the first connection):`);
  for (const k of keys) session.io.print(`${k.bits} ${k.fingerprint} (${k.type === 'ssh-ed25519' ? 'ED25519' : 'RSA'})`);
}

function printUserKeys(session: Session, name: string): void {
  const keys = sshKeysOf(session.draft, name);
  const account = findUser(session.draft, name)!.name;
  if (!keys.length) {
    session.io.print(`Account ${account} has no SSH keys${session.draft.ssh.passwordAuth ? '; it logs in with its password' : ' and password login is disabled: it cannot log in over SSH'}.`);
    return;
  }
  session.io.print(...formatTable(['#', 'Type', 'Bits', 'Fingerprint', 'Comment'], keys.map((k, i) => [String(i + 1), k.type, String(k.bits), k.fingerprint, k.comment || '-'])));
}

async function newUserKey(session: Session, name: string, key: string | undefined, keyFile: string | undefined): Promise<void> {
  if ((key === undefined) === (keyFile === undefined)) throw new CommandError('Give the public key with --key "ssh-ed25519 AAAA… comment" or --key-file FILE (one of them).');
  const line = key ?? (await readConfigFile(session, keyFile!, { absolute: true })).toString('utf8');
  const added = addSshKey(session.draft, name, line);
  session.draft = added.config;
  session.io.print(`Key ${added.key.fingerprint} (${added.key.type}) added to ${findUser(session.draft, name)!.name}; it can log in with it after "commit".`);
}

function setPasswordAuth(session: Session, value: string | undefined): void {
  const word = (value ?? '').toLowerCase();
  if (word !== 'enable' && word !== 'disable') throw new CommandError(`password-auth takes "enable" or "disable".\nUsage: ${USAGE.join('\n       ')}`);
  session.draft = setSshSettings(session.draft, { passwordAuth: word === 'enable' });
  if (word === 'disable') {
    const keyless = session.draft.users.filter((u) => !u.sshKeys?.length).map((u) => u.name);
    if (keyless.length) session.io.warn(`Accounts without an SSH key can no longer log in over SSH: ${keyless.join(', ')}.`);
  }
  session.io.print(`Password login over SSH ${word === 'enable' ? 'enabled' : 'disabled'} (after "commit").`);
}

async function dialog(session: Session): Promise<void> {
  const io = session.io;
  const account = () =>
    io.choose(
      'Choose the account:',
      session.draft.users.map((u) => ({ label: `${u.name} (${u.role}, ${u.sshKeys?.length ?? 0} key(s))`, value: u.name })),
    );
  await io.menuLoop(
    () => showSettings(session),
    [
      { keyword: 'HOSTKEY', text: 'Show the fingerprints of the host keys.', run: () => printHostKeys(session) },
      {
        keyword: 'USERKEY',
        text: "Add, remove or show an account's public keys.",
        run: async () => {
          const name = await account();
          printUserKeys(session, name);
          const op = await io.menu([
            { keyword: 'NEW', text: 'Add a public key.' },
            { keyword: 'DELETE', text: 'Remove a public key.' },
          ]);
          if (op === 'NEW') {
            const line = await io.ask('Paste the public key (one line, as in authorized_keys):');
            await newUserKey(session, name, line, undefined);
          } else if (op === 'DELETE') {
            const count = sshKeysOf(session.draft, name).length;
            if (!count) return;
            const n = await io.askInt('Enter the number of the key to remove.', { min: 1, max: count });
            const removed = deleteSshKey(session.draft, name, n);
            session.draft = removed.config;
            io.print(`Key ${removed.key.fingerprint} removed from ${name}.`);
          }
        },
      },
      {
        keyword: 'PASSWORDAUTH',
        text: 'Allow or refuse password login.',
        run: async () => setPasswordAuth(session, (await io.confirm('Allow accounts to log in with their password?', session.draft.ssh.passwordAuth)) ? 'enable' : 'disable'),
      },
      {
        keyword: 'SETUP',
        text: 'Idle timeout and the number of sessions.',
        run: async () => {
          const idleTimeoutMinutes = await io.askInt('Close sessions idle for how many minutes?', { default: session.draft.ssh.idleTimeoutMinutes, ...SSH_LIMITS.idleTimeoutMinutes });
          const maxSessions = await io.askInt('How many SSH sessions may be open at once?', { default: session.draft.ssh.maxSessions, ...SSH_LIMITS.maxSessions });
          session.draft = setSshSettings(session.draft, { idleTimeoutMinutes, maxSessions });
        },
      },
    ],
  );
}

export const sshconfig: Command = {
  name: 'sshconfig',
  summary: 'SSH access: host key fingerprints, account public keys, password login',
  usage: USAGE,
  details: [
    'The SSH service runs on the interfaces where "interfaceconfig edit NAME --ssh PORT" turns it on; accounts',
    '(userconfig) log in with a public key or, unless disabled here, their password, and land in this shell',
    'with their role. Keys are OpenSSH authorized_keys lines: ssh-ed25519, ecdsa-sha2-nistp256/384/521 or',
    'ssh-rsa of 2048 bits or more, without options. The host keys (Ed25519, RSA-3072) are made when the',
    'engine first starts and never change; "hostkey print" shows their SHA256 fingerprints as ssh prints them.',
    'Five failed logins lock an address for 5 minutes and an account for 15, across SSH and HTTPS.',
    '--key-file is a file in the configuration directory or, in the local shell, an absolute path.',
  ],
  keywords: ['hostkey', 'userkey', 'password-auth', 'setup', 'print', 'new', 'delete', 'enable', 'disable'],
  async run(session, args) {
    if (args.length === 0) return dialog(session);
    const [area, ...rest] = args;
    const { values, positionals } = parseOptions(this, rest, { key: { type: 'string' }, 'key-file': { type: 'string' }, 'idle-timeout': { type: 'string' }, 'max-sessions': { type: 'string' } });
    switch (area!.toLowerCase()) {
      case 'hostkey': {
        const [verb] = takeWords(this, positionals, 1);
        if (verb?.toLowerCase() !== 'print') throw new CommandError(`Usage: sshconfig hostkey print`);
        return printHostKeys(session);
      }
      case 'userkey': {
        const [verb, name, n] = takeWords(this, positionals, 3);
        switch (verb?.toLowerCase()) {
          case 'new':
            takeWords(this, positionals, 2);
            return newUserKey(session, required(this, name, 'NAME'), values.key, values['key-file']);
          case 'delete': {
            const removed = deleteSshKey(session.draft, required(this, name, 'NAME'), optionalCount(required(this, n, 'N (the key number "sshconfig userkey print NAME" shows)'), 'N', { min: 1, max: 1000 })!);
            session.draft = removed.config;
            session.io.print(`Key ${removed.key.fingerprint} (${removed.key.type}) removed from ${findUser(session.draft, name!)!.name} (after "commit").`);
            return;
          }
          case 'print':
            takeWords(this, positionals, 2);
            return printUserKeys(session, required(this, name, 'NAME'));
          default:
            throw new CommandError(`userkey takes new, delete or print.\nUsage: ${USAGE.join('\n       ')}`);
        }
      }
      case 'password-auth':
        return setPasswordAuth(session, takeWords(this, positionals, 1)[0]);
      case 'setup': {
        takeWords(this, positionals, 0);
        const idleTimeoutMinutes = optionalCount(values['idle-timeout'], '--idle-timeout', SSH_LIMITS.idleTimeoutMinutes);
        const maxSessions = optionalCount(values['max-sessions'], '--max-sessions', SSH_LIMITS.maxSessions);
        if (idleTimeoutMinutes === undefined && maxSessions === undefined) throw new CommandError('Nothing to change: give --idle-timeout or --max-sessions.');
        session.draft = setSshSettings(session.draft, { ...(idleTimeoutMinutes && { idleTimeoutMinutes }), ...(maxSessions && { maxSessions }) });
        showSettings(session);
        return;
      }
      case 'print':
        return showSettings(session);
      default:
        throw new CommandError(`Unknown operation "${area}".\nUsage: ${USAGE.join('\n       ')}`);
    }
  },
};
