import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CommandError } from '../shell/errors.js';
import type { Session } from '../shell/session.js';
import { ensureDir, writeFileAtomic } from '../store/atomic.js';
import { configurationFile } from '../store/paths.js';

/**
 * Read a file named on the command line: a bare name in the configuration directory; an absolute
 * path only where the command's help says so (`absolute`).
 */
export async function readConfigFile(session: Session, name: string, { absolute = false } = {}): Promise<Buffer> {
  const file = configurationFile(session.paths, name, { absolute });
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CommandError(code === 'ENOENT' ? `The file "${file}" does not exist.` : `Cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Write a file to the configuration directory, owner-only. */
export async function writeConfigFile(session: Session, name: string, data: string | Uint8Array): Promise<string> {
  const file = configurationFile(session.paths, name);
  await ensureDir(path.dirname(file));
  await writeFileAtomic(file, data, 0o600);
  return file;
}

