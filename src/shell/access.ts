import type { Config } from '../store/schema.js';
import { hasRole, type Role } from '../store/users.js';
import { CommandError } from './errors.js';
import type { Session } from './session.js';

/**
 * What an appliance account may do in the shell (SSH sessions; the local shell runs with its
 * operating-system user's rights and is not limited). The same rules as the GUI: guests look,
 * operators change everything but certificates and accounts, administrators do everything.
 * Editing the draft is open to all; what takes effect is checked: commits (commit, rollbackconfig,
 * quit) by what they change, the queue commands that act at once by their name, and files written
 * to the configuration directory (exports hold private keys) need an administrator.
 */

/** A role refused something: one line saying what it needs. */
export class AccessDenied extends CommandError {
  override name = 'AccessDenied';
}

/** Commands that act on the engine or the disk at once, not through a commit. */
const ACTS_AT_ONCE: Record<string, Role> = {
  deliverynow: 'operator',
  bouncerecipients: 'operator',
};

/** Parts of the configuration only administrators may change. */
const ADMINISTRATOR_PARTS: { key: keyof Config; what: string }[] = [
  { key: 'certificates', what: 'certificates' },
  { key: 'certificateAuthorities', what: 'the trusted CA lists' },
  { key: 'users', what: 'accounts and their SSH keys' },
  { key: 'ssh', what: 'the SSH settings' },
];

export function requireRole(session: Session, needed: Role, what: string): void {
  const account = session.account;
  if (!account || hasRole(account.role, needed)) return;
  throw new AccessDenied(`Your account ${account.name} (${account.role}) may not ${what}; that needs the ${needed} role.`);
}

/** Before a command runs: commands that act at once need their role. */
export function checkCommand(session: Session, name: string): void {
  const needed = ACTS_AT_ONCE[name];
  if (needed) requireRole(session, needed, `run ${name}`);
}

/** Before a commit: guests commit nothing, operators nothing that touches an administrator's part. */
export function checkCommit(session: Session, from: Config, to: Config): void {
  requireRole(session, 'operator', 'commit changes');
  if (!session.account || hasRole(session.account.role, 'administrator')) return;
  const touched = ADMINISTRATOR_PARTS.filter((p) => JSON.stringify(from[p.key]) !== JSON.stringify(to[p.key])).map((p) => p.what);
  if (touched.length) requireRole(session, 'administrator', `commit changes to ${touched.join(' or ')} ("clearchanges" drops them)`);
}
