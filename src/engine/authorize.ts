import type { Config } from '../store/schema.js';
import { findUser, hasRole, type Role } from '../store/accounts/users.js';
import { ControlError } from '../control/dispatch.js';
import type { Op, Principal } from '../control/protocol.js';

/**
 * Who may do what, decided here once for every transport (control socket, HTTPS, SSH): guests
 * look, operators change everything but certificates, CA lists, accounts and the SSH settings,
 * administrators do everything. The owner of the control socket (the local shell) may do
 * everything. An account's role is read from the committed configuration at each request, so a
 * changed role or a deleted account counts at once, whatever a front-end still believes.
 */

/** What each operation needs; `local` ones only the control socket's owner may run. */
const NEEDS: Record<Op, { role: Role | 'local'; what: string }> = {
  ping: { role: 'guest', what: 'ping the engine' },
  status: { role: 'guest', what: 'read the status' },
  config: { role: 'guest', what: 'read the configuration' },
  history: { role: 'guest', what: 'read the commit history' },
  version: { role: 'guest', what: 'read a committed version' },
  alerts: { role: 'guest', what: 'read the alerts' },
  mtasts: { role: 'guest', what: 'read the MTA-STS cache' },
  recipients: { role: 'guest', what: 'read the queue' },
  'tls-outcomes': { role: 'guest', what: 'read the delivery chart' },
  'tls-statistics': { role: 'guest', what: 'read the TLS report' },
  'ssh-hostkeys': { role: 'guest', what: 'read the SSH host keys' },
  tlsverify: { role: 'guest', what: 'run tlsverify' },
  daneverify: { role: 'guest', what: 'run daneverify' },
  commit: { role: 'guest', what: 'commit changes' }, // what it may change: commitProblem
  'commit-confirm': { role: 'operator', what: 'confirm a commit' },
  'commit-check': { role: 'guest', what: 'check changes' },
  deliverynow: { role: 'operator', what: 'run deliverynow' },
  dnsflush: { role: 'operator', what: 'clear the DNS cache' },
  bounce: { role: 'operator', what: 'run bouncerecipients' },
  'tlsrpt-send': { role: 'operator', what: 'send TLS reports' },
  unlock: { role: 'administrator', what: 'unlock accounts' },
  'acme-account': { role: 'administrator', what: 'register ACME accounts' },
  'acme-order': { role: 'administrator', what: 'order certificates' },
  'acme-renew': { role: 'administrator', what: 'renew certificates' },
  'acme-status': { role: 'guest', what: 'read the ACME renewals' },
  stop: { role: 'local', what: 'stop the engine' },
  'cluster-create': { role: 'administrator', what: 'create a cluster' },
  'cluster-token': { role: 'administrator', what: 'make join tokens' },
  'cluster-join': { role: 'administrator', what: 'join a cluster' },
  'cluster-list': { role: 'guest', what: 'list the cluster' },
  'cluster-check': { role: 'guest', what: 'check the cluster' },
  'cluster-leave': { role: 'administrator', what: 'leave the cluster' },
  'cluster-remove': { role: 'administrator', what: 'remove machines from the cluster' },
  'cluster-set': { role: 'administrator', what: 'move settings between cluster levels' },
  'cluster-group': { role: 'administrator', what: 'change the cluster\'s groups' },
};

/** Parts of the configuration only administrators may change. */
const ADMINISTRATOR_PARTS: { key: keyof Config; what: string }[] = [
  { key: 'certificates', what: 'certificates' },
  { key: 'acme', what: 'the ACME account' },
  { key: 'certificateAuthorities', what: 'the trusted CA lists' },
  { key: 'users', what: 'accounts and their SSH keys' },
  { key: 'ssh', what: 'the SSH settings' },
  { key: 'metrics', what: 'who may read the metrics' },
];

const denied = (name: string, role: Role, what: string, needed: Role | 'local') =>
  new ControlError('forbidden', `Your account ${name} (${role}) may not ${what}; ${needed === 'local' ? 'only the local shell may' : `that needs the ${needed} role`}.`);

/** The role of an account principal now, or a refusal when the account no longer exists. */
export function roleOf(config: Config, principal: Principal & { kind: 'account' }): Role {
  const user = findUser(config, principal.name);
  if (!user) throw new ControlError('forbidden', `The account ${principal.name} no longer exists; log in again.`);
  return user.role;
}

/** May this principal run this operation at all? */
export function admit(config: Config, principal: Principal, op: Op): void {
  if (principal.kind === 'local') return;
  const role = roleOf(config, principal);
  const { role: needed, what } = NEEDS[op];
  if (needed === 'local' || !hasRole(role, needed)) throw denied(principal.name, role, what, needed);
}

/** Does `to` differ from `from` only in the password of `name`? (Anyone may change their own.) */
function onlyOwnPassword(from: Config, to: Config, name: string): boolean {
  const mine = findUser(from, name);
  if (!mine || !findUser(to, name)) return false;
  const restored = { ...to, users: to.users.map((u) => (u.name === mine.name ? { ...u, passwordHash: mine.passwordHash } : u)) };
  return JSON.stringify(restored) === JSON.stringify(from);
}

/**
 * May this principal commit `to` over the running `from` (a commit, a rollback: both are whole
 * configurations)? Guests commit only a change of their own password; operators nothing that
 * touches an administrator's part.
 */
export function checkCommit(principal: Principal, from: Config, to: Config): void {
  if (principal.kind === 'local') return;
  const role = roleOf(from, principal);
  if (hasRole(role, 'administrator') || onlyOwnPassword(from, to, principal.name)) return;
  if (!hasRole(role, 'operator')) throw denied(principal.name, role, 'commit changes', 'operator');
  const touched = ADMINISTRATOR_PARTS.filter((p) => JSON.stringify(from[p.key]) !== JSON.stringify(to[p.key])).map((p) => p.what);
  if (touched.length) throw denied(principal.name, role, `commit changes to ${touched.join(' or ')}`, 'administrator');
}
