import { hasRole, type Role } from '../store/accounts/users.js';
import { CommandError } from './errors.js';
import type { Session } from './session.js';

/**
 * What an appliance account may do in the shell that is not an engine operation (SSH sessions;
 * the local shell runs with its operating-system user's rights): files written to the
 * configuration directory (exports hold private keys) need an administrator. Commits and the
 * commands that act at once are engine operations; the engine decides those
 * (engine/authorize.ts), for the shell, SSH and the GUI alike.
 */

/** A role refused something: one line saying what it needs. */
export class AccessDenied extends CommandError {
  override name = 'AccessDenied';
}

export function requireRole(session: Session, needed: Role, what: string): void {
  const account = session.account;
  if (!account || hasRole(account.role, needed)) return;
  throw new AccessDenied(`Your account ${account.name} (${account.role}) may not ${what}; that needs the ${needed} role.`);
}
