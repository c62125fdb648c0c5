import { lstat, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DataPaths } from '../store/paths.js';
import { StartupError } from '../store/versions.js';

/**
 * The engine (often root) writes keys, logs and the queue under the data directory: refuse to start
 * when someone else could plant files or symbolic links there — a directory owned by another user
 * or writable by group or others, or a subdirectory that is a symbolic link. The data directory
 * itself may be reached through a link (/srv/mx → /data/mx); what it contains may not. `uid` is the
 * engine's user: a root start checks for the service account it is about to run as.
 */
export async function checkDataDirectory(paths: DataPaths, uid = process.getuid?.()): Promise<void> {
  const subdirs = [paths.configDir, paths.historyDir, paths.keys, paths.queue, paths.cache, paths.logs, paths.mailLogs, paths.run, paths.configuration, path.join(paths.home, 'ca')];
  for (const dir of [paths.home, ...subdirs]) {
    let st;
    try {
      st = dir === paths.home ? await stat(dir) : await lstat(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    if (st.isSymbolicLink()) throw new StartupError(`${dir} is a symbolic link; the data directory must hold real directories (replace the link by a directory).`);
    if (!st.isDirectory()) throw new StartupError(`${dir} is not a directory.`);
    if (uid !== undefined && st.uid !== uid) throw new StartupError(`${dir} is owned by uid ${st.uid}, not by the engine's user (uid ${uid}): fix it with "chown ${uid} ${dir}" or use another --home.`);
    if (st.mode & 0o022) throw new StartupError(`${dir} is writable by group or others (mode ${modeText(st.mode)}): fix it with "chmod go-w ${dir}".`);
  }
}

/** A file's permission bits as chmod takes them: 0700. */
export function modeText(mode: number): string {
  return (mode & 0o777).toString(8).padStart(4, '0');
}
