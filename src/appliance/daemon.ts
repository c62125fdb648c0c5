import { spawn } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ensureDir } from '../store/atomic.js';
import type { DataPaths } from '../store/paths.js';
import { isEngineUp, request } from '../control/client.js';
import { isProcessAlive, runningPid } from '../engine/lock.js';
import { checkDataDirectory } from '../engine/dataDirectory.js';

const BIN = fileURLToPath(new URL('../../bin/mxgate.js', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Start an engine in the background and wait until its control socket answers. */
export async function startEngine(paths: DataPaths, timeoutMs = 20_000): Promise<{ pid: number; started: boolean }> {
  if (await isEngineUp(paths.socket)) return { pid: (await request(paths.socket, 'ping')).pid, started: false };
  await checkDataDirectory(paths);
  await ensureDir(paths.home);
  await ensureDir(paths.logs);
  const out = openSync(paths.engineLog, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  const child = spawn(process.execPath, [BIN, '--home', paths.home, 'engine', 'run'], {
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));
  child.unref();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited !== undefined) break;
    if (await isEngineUp(paths.socket)) return { pid: child.pid!, started: true };
    await sleep(50);
  }
  throw new Error(`the engine did not start${exited !== undefined ? ` (exit status ${exited})` : ''}; see ${paths.engineLog}:\n${tail(paths.engineLog)}`);
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
