import { lchown, lstat, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { CommandError } from '../shell/errors.js';
import type { Session } from '../shell/session.js';
import { ensureDir, writeFileAtomic } from '../store/atomic.js';
import { configurationFile, FileNameError } from '../store/paths.js';
import { requireRole } from '../shell/access.js';

/**
 * A file's name as the session may see it: the full path for the local shell; for an SSH account
 * relative to the configuration directory (where the appliance keeps its files is not its business).
 */
function shown(session: Session, text: string): string {
  return session.account ? text.replaceAll(session.paths.configuration, 'the configuration directory').replaceAll(session.paths.home, 'the data directory') : text;
}

/** The configuration directory's file for a name, with errors that show only what the session may see. */
function fileFor(session: Session, name: string, absolute: boolean): string {
  try {
    return configurationFile(session.paths, name, { absolute });
  } catch (err) {
    if (err instanceof FileNameError) throw new FileNameError(shown(session, err.message));
    throw err;
  }
}

/**
 * Read a file named on the command line: a bare name in the configuration directory; an absolute
 * path only where the command's help says so (`absolute`).
 */
export async function readConfigFile(session: Session, name: string, { absolute = false } = {}): Promise<Buffer> {
  // An SSH account reaches the configuration directory only, never the host's other files.
  const file = fileFor(session, name, absolute && !session.account);
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CommandError(shown(session, code === 'ENOENT' ? `The file "${file}" does not exist.` : `Cannot read ${file}: ${(err as Error).message}`));
  }
}

/**
 * Root's shell writing into a data directory that belongs to the service account (the engine runs
 * as mxgate): the file, and the configuration directory if root just made it, are handed to the
 * data directory's owner, so that the engine and SSH sessions can read what the shell exported.
 */
async function belongToDataDirectory(session: Session, file: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const owner = await stat(session.paths.home);
  if (owner.uid === 0) return;
  for (const entry of [path.dirname(file), file]) {
    const st = await lstat(entry);
    if (st.uid === 0) await lchown(entry, owner.uid, owner.gid);
  }
}

/** Write a file to the configuration directory, owner-only; returns its name as the session may see it. */
export async function writeConfigFile(session: Session, name: string, data: string | Uint8Array): Promise<string> {
  requireRole(session, 'administrator', `write ${name} to the configuration directory`);
  const file = fileFor(session, name, false);
  await ensureDir(path.dirname(file));
  await writeFileAtomic(file, data, 0o600);
  await belongToDataDirectory(session, file);
  return session.account ? `${name} in the configuration directory` : file;
}

