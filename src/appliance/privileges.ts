import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { mkdir, open, readdir, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { modeText } from '../engine/dataDirectory.js';
import { UserError } from '../userError.js';
import { SERVICE_ACCOUNT, SERVICE_HOME } from './systemd.js';

const run = promisify(execFile);

/** The unprivileged account the engine runs as. */
export interface ServiceAccount {
  name: string;
  uid: number;
  gid: number;
  /** Created by this start (the default account did not exist yet). */
  created?: boolean;
}

/** Started as root, the engine gives up root: CAP_NET_BIND_SERVICE is all it keeps. */
export const isRoot = () => process.getuid?.() === 0;

/**
 * Which account the engine runs as: as root, --user, else $MXGATE_USER, else "mxgate" ("root"
 * keeps root, for those who choose it); as another user, the engine runs as that user and --user
 * may only name it. Undefined means: no change of account.
 */
export async function accountToRunAs(flag: string | undefined): Promise<ServiceAccount | undefined> {
  if (!isRoot()) {
    if (flag === undefined) return undefined;
    const me = userInfo().username;
    if (flag !== me && flag !== String(process.getuid?.())) throw new UserError(`only root can run the engine as another account (this is ${me}, not ${flag})`);
    return undefined;
  }
  const name = flag ?? (process.env.MXGATE_USER || SERVICE_ACCOUNT);
  if (name === 'root' || name === '0') return undefined;
  if (!/^[a-z_][a-z0-9_-]{0,31}\$?$/i.test(name)) throw new UserError(`"${name}" is not an account name`);
  const found = await lookUp(name);
  if (found) {
    if (found.uid === 0) return undefined;
    return found;
  }
  if (name !== SERVICE_ACCOUNT) throw new UserError(`there is no account "${name}": create it (useradd --system --user-group ${name}) or choose another --user`);
  // The install step: the default service account, without a login and without a home of its own.
  try {
    await run('useradd', ['--system', '--user-group', '--home-dir', SERVICE_HOME, '--no-create-home', '--shell', '/usr/sbin/nologin', '--comment', 'mxgate mail gateway', name]);
  } catch (err) {
    throw new UserError(`cannot create the service account "${name}": ${firstLine(err)}`);
  }
  const made = await lookUp(name);
  if (!made) throw new UserError(`the service account "${name}" was created but cannot be found`);
  return { ...made, created: true };
}

async function lookUp(name: string): Promise<ServiceAccount | undefined> {
  try {
    const { stdout } = await run('getent', ['passwd', name]);
    const [, , uid, gid] = stdout.trim().split(':');
    return { name, uid: Number(uid), gid: Number(gid) };
  } catch {
    return undefined; // getent exits 2 for an unknown name
  }
}

/**
 * Make the data directory the account's: created if missing (its parents readable by all, itself
 * owner-only), and everything in it handed over. Each entry is opened without following links
 * and changed through its descriptor, so nothing planted in the directory can make root change
 * a file elsewhere: a file with a second hard link is refused, sockets and links are left (the
 * engine makes its control socket anew).
 */
export async function handOverDataDirectory(home: string, account: ServiceAccount): Promise<number> {
  await mkdir(path.dirname(home), { recursive: true, mode: 0o755 });
  await mkdir(home, { recursive: true, mode: 0o700 });
  return handOver(home, account);
}

async function handOver(entry: string, account: ServiceAccount): Promise<number> {
  let fh;
  try {
    fh = await open(entry, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENXIO' || code === 'ENOENT') return 0; // a link, a socket, gone meanwhile
    throw new UserError(`cannot hand ${entry} to ${account.name}: ${(err as Error).message}`);
  }
  let changed = 0;
  let isDirectory: boolean;
  try {
    const st = await fh.stat();
    isDirectory = st.isDirectory();
    if (!isDirectory && !st.isFile()) return 0;
    if (st.uid !== account.uid || st.gid !== account.gid) {
      if (!isDirectory && st.nlink > 1) throw new UserError(`${entry} has ${st.nlink} hard links; remove the other links before the data directory is handed to ${account.name}`);
      await fh.chown(account.uid, account.gid);
      changed++;
    }
  } finally {
    await fh.close();
  }
  if (isDirectory) for (const name of await readdir(entry)) changed += await handOver(path.join(entry, name), account);
  return changed;
}

/**
 * The directory that keeps `account` from reaching `file` (every directory above it must let the
 * account pass), or undefined. Supplementary groups are not considered, so the answer errs on the
 * side of "cannot".
 */
export async function blockingDirectory(file: string, account: ServiceAccount): Promise<string | undefined> {
  const dirs: string[] = [];
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    dirs.unshift(dir);
    if (dir === path.dirname(dir)) break;
  }
  for (const dir of dirs) {
    const st = await stat(dir).catch(() => undefined);
    if (!st) return undefined; // made later, by the hand-over
    const bit = st.uid === account.uid ? 0o100 : st.gid === account.gid ? 0o010 : 0o001;
    if (!(st.mode & bit)) return `${dir} (mode ${modeText(st.mode)}, owner uid ${st.uid})`;
  }
  return undefined;
}

/**
 * The command prefix that runs a program as the account: setpriv (util-linux) changes the user,
 * group and supplementary groups, and leaves CAP_NET_BIND_SERVICE as the one capability, ambient
 * so that the engine and its workers can bind ports below 1024 at any commit, and nothing can gain
 * more (no new privileges, a bounding set of that one capability).
 */
export function dropPrivilegesCommand(account: ServiceAccount): string[] {
  const caps = '-all,+net_bind_service';
  return ['setpriv', `--reuid=${account.uid}`, `--regid=${account.gid}`, '--init-groups', `--inh-caps=${caps}`, `--ambient-caps=${caps}`, `--bounding-set=${caps}`, '--no-new-privs', '--'];
}

/** The environment of the engine as the account: its own name and no root home. */
export function accountEnvironment(account: ServiceAccount, home: string): NodeJS.ProcessEnv {
  return { ...process.env, USER: account.name, LOGNAME: account.name, HOME: home };
}

function firstLine(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (e.stderr?.trim() || e.message || String(err)).split('\n')[0]!;
}
