import { spawn } from 'node:child_process';
import { closeSync, constants, fchownSync, openSync, readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { lchown } from 'node:fs/promises';
import { ensureDir } from '../store/atomic.js';
import type { DataPaths } from '../store/paths.js';
import { isEngineUp, request } from '../control/client.js';
import { isProcessAlive, runningPid } from '../engine/lock.js';
import { checkDataDirectory } from '../engine/dataDirectory.js';
import { UserError } from '../userError.js';
import { accountEnvironment, accountToRunAs, isRoot, blockingDirectory, dropPrivilegesCommand, handOverDataDirectory, type ServiceAccount } from './privileges.js';
import { ENGINE_NODE_ARGS, PROGRAM, SERVICE_HOME } from './systemd.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface StartOptions {
  /** --user: the account to run as when started as root (see privileges.ts). */
  user?: string;
  /**
   * The shell's own start (no --user given): when the service account cannot reach the data
   * directory (a home under /root), run as the shell's user and say so, instead of failing.
   */
  shellStart?: boolean;
  timeoutMs?: number;
}

/**
 * Start an engine in the background and wait until its control socket answers. Started as root,
 * the data directory is handed to the service account first and the engine runs as that account.
 */
export async function startEngine(paths: DataPaths, options: StartOptions = {}): Promise<{ pid: number; started: boolean; note?: string }> {
  if (await isEngineUp(paths.socket)) return { pid: (await request(paths.socket, 'ping')).pid, started: false };
  const { account, note } = await prepareAccount(paths, options);
  await checkDataDirectory(paths, account?.uid);
  await ensureDir(paths.home);
  await ensureDir(paths.logs);
  if (account) await lchown(paths.logs, account.uid, account.gid); // made just now, as root
  const out = openSync(paths.engineLog, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  if (account) fchownSync(out, account.uid, account.gid);
  const { command, args, env } = engineRunCommand(paths, account);
  const child = spawn(command, args, { detached: true, stdio: ['ignore', out, out], env });
  closeSync(out);
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));
  child.on('error', () => (exited = null));
  child.unref();
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  while (Date.now() < deadline) {
    if (exited !== undefined) break;
    if (await isEngineUp(paths.socket)) return { pid: child.pid!, started: true, ...(note ? { note } : {}) };
    await sleep(50);
  }
  throw new Error(`the engine did not start${exited !== undefined ? ` (exit status ${exited})` : ''}; see ${paths.engineLog}:\n${tail(paths.engineLog)}`);
}

/**
 * `mxgate engine run` for this data directory, as the account when there is one. The account is
 * decided once, by the caller: the engine is told it (root when the shell's start kept root).
 */
function engineRunCommand(paths: DataPaths, account: ServiceAccount | undefined): { command: string; args: string[]; env: NodeJS.ProcessEnv } {
  const runAs = account?.name ?? (isRoot() ? 'root' : undefined);
  const engineRun = [process.execPath, ...ENGINE_NODE_ARGS, PROGRAM, '--home', paths.home, 'engine', 'run', ...(runAs ? ['--user', runAs] : [])];
  if (!account) return { command: engineRun[0]!, args: engineRun.slice(1), env: process.env };
  const [command, ...args] = [...dropPrivilegesCommand(account), ...engineRun];
  return { command: command!, args, env: accountEnvironment(account, paths.home) };
}

/**
 * Started as root: which account the engine will run as, with the data directory (and the
 * program) where that account can reach them and the directory handed to it.
 */
export async function prepareAccount(paths: DataPaths, options: StartOptions): Promise<{ account?: ServiceAccount; note?: string }> {
  const account = await accountToRunAs(options.user);
  if (!account) return {};
  for (const [what, file] of [['the data directory', paths.home], ['the program', PROGRAM]] as const) {
    const blocked = await blockingDirectory(file, account);
    if (!blocked) continue;
    const why = `the service account ${account.name} cannot reach ${what} ${file}: ${blocked} is closed to it`;
    if (options.shellStart && options.user === undefined && !process.env.MXGATE_USER) {
      return { note: `Warning: the engine runs as root because ${why}. On a gateway host use --home ${SERVICE_HOME} (see README, "Run it on a gateway host").` };
    }
    throw new UserError(`${why}; use a data directory it can reach (--home ${SERVICE_HOME}) or --user root`);
  }
  await handOverDataDirectory(paths.home, account);
  return { account, ...(account.created ? { note: `Created the service account ${account.name}.` } : {}) };
}

/**
 * `mxgate engine run` as root: the engine runs in the foreground as the service account, this
 * process waits for it and passes on the signals (SIGTERM, SIGINT, SIGHUP) it gets.
 */
export async function runEngineAs(paths: DataPaths, user: string | undefined): Promise<number | undefined> {
  const { account } = await prepareAccount(paths, { user });
  if (!account) return undefined;
  await checkDataDirectory(paths, account.uid);
  const { command, args, env } = engineRunCommand(paths, account);
  const child = spawn(command, args, { stdio: 'inherit', env });
  const pass = (signal: NodeJS.Signals) => () => child.kill(signal);
  const handlers = (['SIGTERM', 'SIGINT', 'SIGHUP'] as const).map((s) => [s, pass(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (err) => reject(new UserError(`cannot run the engine as ${account.name}: ${err.message}`)));
      child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : 1)));
    });
  } finally {
    for (const [s, h] of handlers) process.off(s, h);
  }
}

/** Ask the engine to stop and wait for its process to end. */
export async function stopEngine(paths: DataPaths, timeoutMs = 40_000): Promise<boolean> {
  // The pid file may be empty (written on a full disk): the engine says its pid itself.
  const pid = (await runningPid(paths.pidFile)) ?? (await request(paths.socket, 'ping').then((r) => r.pid, () => undefined));
  if (!(await isEngineUp(paths.socket))) {
    if (pid !== undefined) process.kill(pid, 'SIGTERM');
    else return false;
  } else {
    await request(paths.socket, 'stop');
  }
  const deadline = Date.now() + timeoutMs;
  while (pid !== undefined && isProcessAlive(pid) && Date.now() < deadline) await sleep(50);
  return true;
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-5).join('\n');
  } catch {
    return '(no log)';
  }
}
