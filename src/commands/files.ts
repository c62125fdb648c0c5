import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CommandError } from '../shell/errors.js';
import type { Session } from '../shell/session.js';
import { ensureDir, writeFileAtomic } from '../store/atomic.js';
import { configurationFile } from '../store/paths.js';

/** Read a file named on the command line (bare names are in the configuration directory). */
export async function readConfigFile(session: Session, name: string): Promise<Buffer> {
  const file = configurationFile(session.paths, name);
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CommandError(code === 'ENOENT' ? `The file "${file}" does not exist.` : `Cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Write a file to the configuration directory (or an absolute path), owner-only. */
export async function writeConfigFile(session: Session, name: string, data: string | Uint8Array): Promise<string> {
  const file = configurationFile(session.paths, name);
  await ensureDir(path.dirname(file));
  await writeFileAtomic(file, data, 0o600);
  return file;
}

