import { open, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../userError.js';
import type { DataPaths } from './paths.js';

/** A log named that the appliance does not have. */
export class LogNameError extends UserError {
  override name = 'LogNameError';
}

const inLogs = (dir: string, file: string) => (paths: DataPaths) => ({ dir: path.join(paths.logs, dir), current: path.join(paths.logs, dir, file) });

/**
 * The logs the shell and the GUI can read, by the appliance's names: the mail log, and the audit
 * logs of SSH (cli_logs: logins, lock-outs, commands' commits) and of the GUI (gui_logs).
 */
const LOGS = {
  mail_logs: (paths: DataPaths) => ({ dir: paths.mailLogs, current: path.join(paths.mailLogs, 'mail.current') }),
  cli_logs: inLogs('cli_logs', 'cli.current'),
  gui_logs: inLogs('gui_logs', 'gui.current'),
};
export const LOG_NAMES = Object.keys(LOGS);

export function logFiles(paths: DataPaths, name: string | undefined): { dir: string; current: string } {
  const log = LOGS[(name ?? '').toLowerCase() as keyof typeof LOGS];
  if (!log) throw new LogNameError(`${name === undefined ? 'Name a log' : `There is no log "${name}"`}: ${LOG_NAMES.join(', ')}.`);
  return log(paths);
}

/** The rotated files (mail.@<time>…s, oldest first) and then the current one. */
export async function allFiles(log: { dir: string; current: string }): Promise<string[]> {
  const prefix = `${path.basename(log.current, '.current')}.@`;
  const rotated = (await readdir(log.dir).catch(() => [] as string[])).filter((n) => n.startsWith(prefix)).sort();
  return [...rotated.map((n) => path.join(log.dir, n)), log.current];
}

/** The last `count` lines of a file, reading only its end. */
export async function lastLines(file: string, count: number): Promise<string[]> {
  const size = (await stat(file).catch(() => undefined))?.size ?? 0;
  if (size === 0) return [];
  const fh = await open(file, 'r');
  try {
    let from = size;
    let text = '';
    while (from > 0 && text.split('\n').length <= count + 1) {
      const length = Math.min(64 * 1024, from);
      from -= length;
      const buffer = Buffer.alloc(length);
      await fh.read(buffer, 0, length, from);
      text = buffer.toString('utf8') + text;
    }
    return text.replace(/\n$/, '').split('\n').slice(-count);
  } finally {
    await fh.close();
  }
}

/** Lines added to `file` since byte `offset` (the file may have been rotated: then from its start). */
export async function linesSince(file: string, offset: number): Promise<{ lines: string[]; offset: number }> {
  const size = (await stat(file).catch(() => undefined))?.size ?? 0;
  const start = size < offset ? 0 : offset;
  if (size === start) return { lines: [], offset: size };
  const fh = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(size - start);
    await fh.read(buffer, 0, buffer.length, start);
    const text = buffer.toString('utf8');
    const end = text.lastIndexOf('\n') + 1; // a line still being written waits for the next look
    return { lines: text.slice(0, end).split('\n').slice(0, -1), offset: start + Buffer.byteLength(text.slice(0, end)) };
  } finally {
    await fh.close();
  }
}

export const readText = (file: string) => readFile(file, 'utf8').catch(() => '');
