import os from 'node:os';
import path from 'node:path';
import { UserError } from '../userError.js';

/** Where one appliance keeps its disk: see DESIGN.md "Data directory". */
export interface DataPaths {
  home: string;
  configDir: string;
  currentConfig: string;
  historyDir: string;
  keys: string;
  queue: string;
  cache: string;
  logs: string;
  mailLogs: string;
  engineLog: string;
  run: string;
  socket: string;
  pidFile: string;
  /** The appliance's "configuration directory": files that commands import and export. */
  configuration: string;
}

/** --home, else MXGATE_HOME, else ~/.mxgate. */
export function resolveHome(flag?: string): string {
  const chosen = flag ?? process.env.MXGATE_HOME ?? path.join(os.homedir(), '.mxgate');
  return path.resolve(chosen);
}

export function dataPaths(home: string): DataPaths {
  const run = path.join(home, 'run');
  const logs = path.join(home, 'logs');
  const configDir = path.join(home, 'config');
  return {
    home,
    configDir,
    currentConfig: path.join(configDir, 'current.json'),
    historyDir: path.join(configDir, 'history'),
    keys: path.join(home, 'keys'),
    queue: path.join(home, 'queue'),
    cache: path.join(home, 'cache'),
    logs,
    mailLogs: path.join(logs, 'mail_logs'),
    engineLog: path.join(logs, 'engine.log'),
    run,
    socket: path.join(run, 'control.sock'),
    pidFile: path.join(run, 'engine.pid'),
    configuration: path.join(home, 'configuration'),
  };
}

/** A file name given to a command is not one it takes. */
export class FileNameError extends UserError {
  override name = 'FileNameError';
}

/**
 * A bare file name lives in the configuration directory, as on the appliance. An absolute path is
 * taken only where a command asks for it (`absolute`, said in its help). Anything else (a
 * separator, "..") is refused: a name must not reach outside configuration/ (EXPORT to
 * "../../etc/x" once did).
 */
export function configurationFile(paths: DataPaths, name: string, { absolute = false } = {}): string {
  if (absolute && path.isAbsolute(name)) return name;
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\\') || name.includes('\0')) {
    throw new FileNameError(`"${name}" is not a file name: give a bare name (a file in ${paths.configuration})${absolute ? ' or an absolute path' : ''}.`);
  }
  return path.join(paths.configuration, name);
}
