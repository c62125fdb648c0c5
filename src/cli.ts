import { parseArgs } from 'node:util';
import { isEngineUp, request } from './engine/control/client.js';
import { runEngine, startEngine, stopEngine } from './engine/daemon.js';
import { runningPid } from './engine/lock.js';
import { ArraySource, ReadlineSource } from './shell/lineSource.js';
import { runShell } from './shell/repl.js';
import { dataPaths, type DataPaths, resolveHome } from './store/paths.js';
import { VERSION } from './version.js';

const USAGE = `Usage:
  mxgate [--home DIR]                      open the shell (starts the engine if needed)
  mxgate [--home DIR] -c 'LINE' [-c ...]   run shell command lines, then exit
  mxgate [--home DIR] < script             run a script of shell commands
  mxgate [--home DIR] engine run|start|stop|status
  mxgate --version | --help

A script (or -c lines) stops at its first failure: the failing line is named, nothing after it
runs and pending changes are discarded; --keep-going carries on instead.
The data directory is --home, else $MXGATE_HOME, else ~/.mxgate.
Exit status: 0 when every command succeeded, 1 when one failed, 2 for a usage error.`;

async function engineCommand(paths: DataPaths, verb: string | undefined): Promise<number> {
  switch (verb) {
    case 'run':
      await runEngine(paths);
      return 0;
    case 'start': {
      const { pid, started } = await startEngine(paths);
      process.stdout.write(started ? `Engine started (pid ${pid}) for ${paths.home}\n` : `Engine already running (pid ${pid}) for ${paths.home}\n`);
      return 0;
    }
    case 'stop':
      process.stdout.write((await stopEngine(paths)) ? 'Engine stopped.\n' : 'Engine is not running.\n');
      return 0;
    case 'status': {
      if (!(await isEngineUp(paths.socket))) {
        const pid = await runningPid(paths.pidFile);
        process.stdout.write(pid ? `Engine process ${pid} exists but does not answer on ${paths.socket}\n` : `Engine is not running for ${paths.home}\n`);
        return 3;
      }
      const s = await request(paths.socket, 'status');
      process.stdout.write(
        `Engine running (pid ${s.pid}), mxgate ${s.version}, up ${s.uptimeSeconds} s, configuration version ${s.configVersion}, ` +
          `${s.listeners.length} listener(s), ${s.queue.messages} message(s) queued\n`,
      );
      return 0;
    }
    default:
      process.stderr.write(`mxgate: engine needs one of run, start, stop, status\n${USAGE}\n`);
      return 2;
  }
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        home: { type: 'string' },
        c: { type: 'string', short: 'c', multiple: true },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
        'keep-going': { type: 'boolean' },
      },
    });
  } catch (err) {
    process.stderr.write(`mxgate: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`mxgate ${VERSION}\n`);
    return 0;
  }
  const paths = dataPaths(resolveHome(values.home));
  try {
    if (positionals[0] === 'engine') return await engineCommand(paths, positionals[1]);
    if (positionals.length > 0) {
      process.stderr.write(`mxgate: unexpected argument "${positionals[0]}" (to run a shell command use -c '${positionals.join(' ')}')\n${USAGE}\n`);
      return 2;
    }
    if (values.c) {
      const failures = await runShell({ paths, source: new ArraySource([...values.c]), prompts: false, startEngine: false, keepGoing: values['keep-going'] === true });
      return failures ? 1 : 0;
    }
    const failures = await runShell({ paths, source: new ReadlineSource(), prompts: true, startEngine: true, keepGoing: values['keep-going'] === true });
    return failures ? 1 : 0;
  } catch (err) {
    process.stderr.write(`mxgate: ${(err as Error).message}\n`);
    return 1;
  }
}
