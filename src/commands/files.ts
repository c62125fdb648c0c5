import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CommandError } from '../shell/errors.js';
import type { Session } from '../shell/session.js';
import { ensureDir, writeFileAtomic } from '../store/atomic.js';
import { configurationFile } from '../store/paths.js';
import { requireRole } from '../shell/access.js';

/**
 * Read a file named on the command line: a bare name in the configuration directory; an absolute
 * path only where the command's help says so (`absolute`).
 */
export async function readConfigFile(session: Session, name: string, { absolute = false } = {}): Promise<Buffer> {
  // An SSH account reaches the configuration directory only, never the host's other files.
  const file = configurationFile(session.paths, name, { absolute: absolute && !session.account });
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CommandError(code === 'ENOENT' ? `The file "${file}" does not exist.` : `Cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Write a file to the configuration directory, owner-only. */
export async function writeConfigFile(session: Session, name: string, data: string | Uint8Array): Promise<string> {
  requireRole(session, 'administrator', `write ${name} to the configuration directory`);
  const file = configurationFile(session.paths, name);
  await ensureDir(path.dirname(file));
  await writeFileAtomic(file, data, 0o600);
  return file;
}

