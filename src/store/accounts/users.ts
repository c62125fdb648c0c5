import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { editConfig, notFound } from '../edit.js';
import { type Config, ConfigError } from '../schema.js';
import { HASH, ROLES, type Role, type User, userName } from './schema.js';
import { parseAuthorizedKey, type SshPublicKey } from '../../pki/sshKeys.js';

export { ROLES, type Role, type User } from './schema.js';

/**
 * The appliance's administrator accounts (userconfig, passwd), for the HTTPS and SSH access that
 * log in with them. Passwords are kept only as scrypt hashes; the clear text is never stored,
 * logged or shown. Roles: administrators do everything, operators everything but certificates
 * and accounts, guests only look. The local shell runs as its operating-system user.
 */

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;
const COST = { logN: 15, r: 8, p: 1 };
const maxmem = (logN: number, r: number) => 256 * 2 ** logN * r;

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, 32, { N: 2 ** COST.logN, r: COST.r, p: COST.p, maxmem: maxmem(COST.logN, COST.r) });
  return `scrypt$${COST.logN}$${COST.r}$${COST.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  const m = HASH.exec(hash);
  if (!m) return false;
  const [logN, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const expected = Buffer.from(m[5]!, 'base64');
  const key = await scryptAsync(password, Buffer.from(m[4]!, 'base64'), expected.length, { N: 2 ** logN, r, p, maxmem: maxmem(logN, r) });
  return timingSafeEqual(key, expected);
}

const RANK: Record<Role, number> = { guest: 0, operator: 1, administrator: 2 };

/** Does an account with `role` have at least the rights of `needed`? */
export const hasRole = (role: Role, needed: Role): boolean => RANK[role] >= RANK[needed];

/** A fixed hash to verify against when the account does not exist, so timing does not tell. */
let decoy: Promise<string> | undefined;

/**
 * The account when the name and password match, else undefined. A missing account costs the
 * same scrypt work as a wrong password, so the answer's timing does not say which it was.
 */
export async function checkPassword(config: Config, name: string, password: string): Promise<User | undefined> {
  const user = findUser(config, name);
  decoy ??= hashPassword(randomBytes(24).toString('base64'));
  const ok = await verifyPassword(user?.passwordHash ?? (await decoy), password);
  return user && ok ? user : undefined;
}

/** An account name as typed (any case), checked: lower case, as accounts are named. */
export function checkAccountName(value: string): string {
  const name = value.trim().toLowerCase();
  const checked = userName.safeParse(name);
  if (!checked.success) throw new ConfigError(`Account name "${name}" ${checked.error.issues[0]!.message}.`);
  return name;
}

export function parseRole(value: string): Role {
  const r = value.trim().toLowerCase();
  if (!(ROLES as readonly string[]).includes(r)) throw new ConfigError(`--role must be one of ${ROLES.join(', ')}; not "${value}".`);
  return r as Role;
}

/** Why a new password is not good enough, or undefined. */
export function passwordProblem(name: string, password: string): string | undefined {
  if (password.length < 10) return 'The password must have at least 10 characters.';
  if (password.length > 1024) return 'The password is longer than 1024 characters.';
  if (password.toLowerCase().includes(name.toLowerCase())) return 'The password must not contain the account name.';
  if (/[\x00-\x1f\x7f]/.test(password)) return 'The password must not contain control characters.';
  return undefined;
}

/**
 * What a login was granted on: role, password and keys. A session whose account's stamp changes
 * (or whose account goes) ends; a stolen session cookie or shell dies with a password change.
 */
export function accountStamp(user: User): string {
  return createHash('sha256').update(JSON.stringify([user.name, user.role, user.passwordHash, user.sshKeys ?? []])).digest('base64url');
}

export function findUser(config: Config, name: string): User | undefined {
  return config.users.find((u) => u.name === name.toLowerCase());
}

export function addUser(config: Config, user: User): Config {
  if (findUser(config, user.name)) throw new ConfigError(`The account ${user.name} exists already; "passwd ${user.name}" changes its password.`);
  return editConfig(config, (d) => void d.users.push(user));
}

export function deleteUser(config: Config, name: string): Config {
  const user = findUser(config, name);
  if (!user) throw notFound('account', name, config.users.map((u) => u.name));
  const admins = config.users.filter((u) => u.role === 'administrator');
  if (user.role === 'administrator' && admins.length === 1 && config.users.length > 1) {
    throw new ConfigError(`${user.name} is the last administrator; the other accounts could not manage accounts or certificates. Make another administrator first.`);
  }
  return editConfig(config, (d) => void (d.users = d.users.filter((u) => u.name !== user.name)));
}

export function setUser(config: Config, name: string, changes: Partial<Pick<User, 'role' | 'passwordHash'>>): Config {
  const user = findUser(config, name);
  if (!user) throw notFound('account', name, config.users.map((u) => u.name));
  if (changes.role && changes.role !== 'administrator' && user.role === 'administrator' && config.users.filter((u) => u.role === 'administrator').length === 1) {
    throw new ConfigError(`${user.name} is the last administrator; make another administrator first.`);
  }
  return editConfig(config, (d) => void Object.assign(d.users.find((u) => u.name === user.name)!, changes));
}

const MAX_KEYS_PER_ACCOUNT = 20;

/** Add an SSH public key (one authorized_keys line) that logs in as this account. */
export function addSshKey(config: Config, name: string, keyLine: string): { config: Config; key: SshPublicKey } {
  const user = findUser(config, name);
  if (!user) throw notFound('account', name, config.users.map((u) => u.name));
  const key = parseAuthorizedKey(keyLine);
  const keys = user.sshKeys ?? [];
  const same = keys.findIndex((k) => parseAuthorizedKey(k).fingerprint === key.fingerprint);
  if (same >= 0) throw new ConfigError(`Account ${user.name} has this key already (key ${same + 1}, ${key.fingerprint}).`);
  if (keys.length >= MAX_KEYS_PER_ACCOUNT) throw new ConfigError(`Account ${user.name} has ${keys.length} keys, the most it may have; delete one first.`);
  return { config: editConfig(config, (d) => void (d.users.find((u) => u.name === user.name)!.sshKeys = [...keys, key.line])), key };
}

/** Remove key number `n` (1-based, as `sshconfig userkey print` numbers them). */
export function deleteSshKey(config: Config, name: string, n: number): { config: Config; key: SshPublicKey } {
  const user = findUser(config, name);
  if (!user) throw notFound('account', name, config.users.map((u) => u.name));
  const keys = user.sshKeys ?? [];
  if (!keys.length) throw new ConfigError(`Account ${user.name} has no SSH keys.`);
  if (!Number.isInteger(n) || n < 1 || n > keys.length) throw new ConfigError(`Account ${user.name} has key${keys.length === 1 ? ' 1 only' : `s 1 to ${keys.length}`}; there is no key ${n}.`);
  const key = parseAuthorizedKey(keys[n - 1]!);
  return { config: editConfig(config, (d) => void (d.users.find((u) => u.name === user.name)!.sshKeys = keys.filter((_, i) => i !== n - 1))), key };
}

export function sshKeysOf(config: Config, name: string): SshPublicKey[] {
  const user = findUser(config, name);
  if (!user) throw notFound('account', name, config.users.map((u) => u.name));
  return (user.sshKeys ?? []).map(parseAuthorizedKey);
}
