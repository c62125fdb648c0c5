import { readFileSync } from 'node:fs';
import { open, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { isEngineUp } from '../control/client.js';

/** A process that exists and is not a zombie (a killed engine whose parent has not reaped it). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    // /proc/PID/stat: "pid (comm) state ..."; comm may contain spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

export async function readPid(pidFile: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Is `pid` an mxgate engine of the data directory `home`? Its command line must be
 * "… mxgate … engine run", with this --home when it names one. A pid file left by a crash may name
 * a process that has since taken the number (even pid 1): that one is not ours.
 */
function isEngineOf(pid: number, home: string): boolean {
  let args: string[];
  try {
    args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return true; // no /proc: alive is all we can know
  }
  const engine = args.includes('engine') && args.includes('run') && args.some((a) => /mxgate(\.js)?$/.test(a));
  const at = args.indexOf('--home');
  return engine && (at < 0 || path.resolve(args[at + 1] ?? '') === path.resolve(home));
}

/** The pid in the pid file when it is a live engine of this data directory (run/engine.pid's home). */
export async function runningPid(pidFile: string): Promise<number | undefined> {
  const pid = await readPid(pidFile);
  return pid !== undefined && alive(pid) && isEngineOf(pid, path.dirname(path.dirname(pidFile))) ? pid : undefined;
}

/**
 * One engine per data directory: run/engine.pid is created exclusively; a pid file left by a dead
 * engine is taken over.
 */
export async function acquirePidLock(pidFile: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    let created = false;
    try {
      const fh = await open(pidFile, 'wx', 0o600);
      created = true;
      try {
        await fh.writeFile(`${process.pid}\n`);
      } catch (err) {
        // A full disk: the (empty) file still marks the directory as taken; the control socket
        // tells a second engine that this one runs. Starting matters more: mail waits outside.
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC' && (err as NodeJS.ErrnoException).code !== 'EDQUOT') throw err;
      } finally {
        await fh.close();
      }
      return async () => {
        const pid = await readPid(pidFile);
        if (pid === process.pid || pid === undefined) await unlink(pidFile).catch(() => undefined);
      };
    } catch (err) {
      if (created || (err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const other = await runningPid(pidFile);
      if (other !== undefined && other !== process.pid) {
        throw new Error(`an engine (pid ${other}) is already running for this data directory`);
      }
      if ((await readPid(pidFile)) === undefined && (await isEngineUp(path.join(path.dirname(pidFile), 'control.sock')))) {
        throw new Error('an engine is already running for this data directory (it answers on run/control.sock)');
      }
      await unlink(pidFile).catch(() => undefined);
    }
  }
  throw new Error(`cannot create ${pidFile}`);
}

export { alive as isProcessAlive };
