import { Argument, Command, CommanderError } from 'commander';
import { isEngineUp, request } from './control/client.js';
import { startEngine, stopEngine } from './appliance/daemon.js';
import { SERVICE_ACCOUNT, UNIT_FILE } from './appliance/systemd.js';
import { runningPid } from './engine/lock.js';
import { ArraySource, ReadlineSource } from './shell/lineSource.js';
import { runShell } from './shell/repl.js';
import { COMMANDS } from './commands/index.js';
import { dataPaths, type DataPaths, resolveHome } from './store/paths.js';
import { VERSION } from './version.js';

const DETAILS = `
A script (or -c lines) stops at its first failure: the failing line is named, nothing after it
runs and pending changes are discarded; --keep-going carries on instead.
The data directory is --home, else $MXGATE_HOME, else ~/.mxgate.
Exit status: 0 when every command succeeded, 1 when one failed, 2 for a usage error.`;

async function engineCommand(paths: DataPaths, verb: string | undefined, user: string | undefined): Promise<number> {
  switch (verb) {
    case 'run': {
      // As root: the engine runs as the service account in a process of its own; this one waits.
      const { accountToRunAs, isRoot } = await import('./appliance/privileges.js');
      if (isRoot()) {
        const { runEngineAs } = await import('./appliance/daemon.js');
        const status = await runEngineAs(paths, user);
        if (status !== undefined) return status;
      } else {
        await accountToRunAs(user);
      }
      // Loaded here so that the shell, which never runs listeners, starts without smtp-server.
      const { runEngine } = await import('./appliance/run.js');
      await runEngine(paths);
      return 0;
    }
    case 'start': {
      const { pid, started, note } = await startEngine(paths, { user });
      if (note) process.stdout.write(`${note}\n`);
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
        `Engine running (pid ${s.pid}${s.account ? `, account ${s.account}` : ''}), mxgate ${s.version}, up ${s.uptimeSeconds} s, configuration version ${s.configVersion}, ` +
          `${s.listeners.length} listener(s), ${s.queue.messages} message(s) queued\n`,
      );
      return 0;
    }
    default:
      process.stderr.write(`mxgate: engine needs one of run, start, stop, status\n`);
      return 2;
  }
}

/** The mxgate command line (commander): the shell, `-c` lines, a script on stdin, or the engine. */
function program(run: (work: () => Promise<number>) => void): Command {
  const cli = new Command('mxgate')
    .description('Mail gateway appliance for encrypted MTA-to-MTA mail, driven by an AsyncOS-style shell.\nWith no command: open the shell (starts the engine if needed); with stdin not a terminal: run it as a script.')
    .version(`mxgate ${VERSION}`, '--version', 'print the version')
    .helpOption('-h, --help', 'show this help')
    .option('--home <dir>', 'the data directory')
    .option('-c, --command <line>', 'run a shell command line, then exit (repeatable)', (line: string, all: string[] | undefined) => [...(all ?? []), line])
    .option('--keep-going', 'scripts and -c lines: carry on after a failed command')
    .addHelpText('after', DETAILS)
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`mxgate: ${text.replace(/^error: /, '')}`) })
    .showSuggestionAfterError(true)
    .action((options: { home?: string; command?: string[]; keepGoing?: boolean }) =>
      run(async () => {
        const paths = dataPaths(resolveHome(options.home));
        const keepGoing = options.keepGoing === true;
        const lines = options.command ?? [];
        const source = lines.length ? new ArraySource(lines) : new ReadlineSource();
        const failures = await runShell({ paths, commands: COMMANDS, launcher: (p) => startEngine(p, { shellStart: true }), source, prompts: lines.length === 0, startEngine: lines.length === 0, keepGoing });
        return failures ? 1 : 0;
      }),
    );
  cli
    .command('engine')
    .description('run the engine in the foreground, start or stop it in the background, or show whether it runs')
    .addArgument(new Argument('<action>', 'what to do').choices(['run', 'start', 'stop', 'status']))
    .option('--user <account>', 'run and start as root: bind, then run as this account (default: $MXGATE_USER, else mxgate; "root" keeps root)')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`mxgate engine: ${text.replace(/^error: /, '')}`) })
    .action((action: string, options: { user?: string }) => run(() => engineCommand(dataPaths(resolveHome(cli.opts<{ home?: string }>().home)), action, options.user)));
  cli
    .command('service')
    .description('the systemd service: print its unit file, or install it (account, data directory, unit)')
    .addArgument(new Argument('<action>', 'what to do').choices(['unit', 'install']))
    .option('--user <account>', 'the service account', SERVICE_ACCOUNT)
    .option('--unit-file <file>', 'install: where to write the unit', UNIT_FILE)
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`mxgate service: ${text.replace(/^error: /, '')}`) })
    .action((action: string, options: { user: string; unitFile: string }) =>
      run(async () => {
        const home = cli.opts<{ home?: string }>().home;
        if (action === 'unit') {
          const { serviceUnit } = await import('./appliance/systemd.js');
          process.stdout.write(serviceUnit({ account: options.user, ...(home ? { home: resolveHome(home) } : {}) }));
          return 0;
        }
        const { installService } = await import('./appliance/service.js');
        const lines = await installService({ user: options.user, unitFile: options.unitFile, ...(home ? { home: resolveHome(home) } : {}) });
        process.stdout.write(lines.join('\n') + '\n');
        return 0;
      }),
    );
  return cli;
}

/**
 * Output piped into a reader that stops early (`mxgate -c 'help' | head`): stop quietly, as
 * other command-line tools do, instead of an unhandled EPIPE with a stack trace.
 */
function quietOnClosedPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }
}

export async function main(argv: string[]): Promise<number> {
  quietOnClosedPipes();
  let work: (() => Promise<number>) | undefined;
  const cli = program((w) => (work = w));
  try {
    cli.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with status 0; a usage error has already been printed.
      if (err.code === 'commander.excessArguments') process.stderr.write(`mxgate: to run shell commands, give them with -c: mxgate -c '${argv.filter((a) => !a.startsWith('-')).join(' ')}'\n`);
      return err.exitCode === 0 ? 0 : 2;
    }
    throw err;
  }
  try {
    return work ? await work() : 0;
  } catch (err) {
    process.stderr.write(`mxgate: ${(err as Error).message}\n`);
    return 1;
  }
}
