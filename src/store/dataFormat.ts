import { cp, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { ensureDir, writeFileAtomic } from './atomic.js';
import type { DataPaths } from './paths.js';
import { StartupError } from './versions.js';

/**
 * The data directory's format, in FORMAT at its top: which release wrote it and in which format.
 * A release migrates an older directory at start, after keeping a copy of it; it refuses a newer
 * one, whose files it could misread or damage. A directory without FORMAT but with a committed
 * configuration was written before formats were counted (format 1).
 */
export const DATA_FORMAT = 3;

interface FormatFile {
  format: 'mxgate-data';
  version: number;
  /** The release that last wrote the directory. */
  release: string;
}

/**
 * What changes a directory of format N into N+1, indexed by N. Format 2 only adds FORMAT: the
 * configuration, queue envelopes, caches and accounts of format 1 read as they are (the schema
 * fills new settings with their defaults). Format 3 queues each message as one file, <MID>.msg
 * (engine/queue/queueFile.ts); the <MID>.eml and <MID>.json pairs of formats 1 and 2 are read and
 * delivered as they are, so nothing is rewritten. The number goes up all the same: a release of
 * format 2 would not see the new files and leave their messages in the queue, unsent and unsaid.
 */
const MIGRATIONS: Record<number, (paths: DataPaths) => Promise<void>> = {
  1: async () => {},
  2: async () => {},
};

/** Kept out of the copy: what the engine rebuilds (run, cache), the logs, and earlier copies. */
const NOT_COPIED = new Set(['run', 'cache', 'logs', 'upgrades']);

const formatFile = (paths: DataPaths) => path.join(paths.home, 'FORMAT');

async function readFormat(paths: DataPaths): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(formatFile(paths), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const used = await readdir(paths.configDir).then(
      (names) => names.length > 0,
      () => false,
    );
    return used ? 1 : undefined;
  }
  const f = (() => {
    try {
      return JSON.parse(text) as Partial<FormatFile>;
    } catch {
      return undefined;
    }
  })();
  if (f?.format !== 'mxgate-data' || !Number.isInteger(f.version) || (f.version ?? 0) < 1) {
    throw new StartupError(`${formatFile(paths)} is not an mxgate data format file; put back the one the directory had, or remove it if the directory was written before formats were counted.`);
  }
  return f.version;
}

/**
 * Before anything else reads the directory (the engine holds its lock): a new directory gets the
 * current format; an older one is copied to upgrades/format-N-TIME/ and migrated step by step; a
 * newer one is refused with one line. Returns what was done, for the mail log.
 */
export async function upgradeDataDirectory(paths: DataPaths, release: string, now = new Date()): Promise<string | undefined> {
  const found = await readFormat(paths);
  const stamp = () => writeFileAtomic(formatFile(paths), `${JSON.stringify({ format: 'mxgate-data', version: DATA_FORMAT, release } satisfies FormatFile)}\n`);
  if (found === undefined) {
    await stamp();
    return undefined;
  }
  if (found > DATA_FORMAT) {
    throw new StartupError(`${paths.home} is in data format ${found}, written by a newer mxgate; release ${release} reads format ${DATA_FORMAT} and older: run the newer release, or start from the copy under upgrades/ that it kept.`);
  }
  if (found === DATA_FORMAT) return undefined;
  const copy = path.join(paths.home, 'upgrades', `format-${found}-${now.toISOString().replace(/[:.]/g, '-')}`);
  try {
    await ensureDir(path.dirname(copy));
    await mkdir(copy, { mode: 0o700 });
    for (const name of await readdir(paths.home)) {
      if (!NOT_COPIED.has(name)) await cp(path.join(paths.home, name), path.join(copy, name), { recursive: true, errorOnExist: true, force: false, preserveTimestamps: true });
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') await rm(copy, { recursive: true, force: true });
    throw new StartupError(`${paths.home} needs migrating from data format ${found} to ${DATA_FORMAT}, but the copy kept before it could not be written (${(err as Error).message}); nothing was changed.`);
  }
  for (let v = found; v < DATA_FORMAT; v++) await MIGRATIONS[v]!(paths);
  await stamp();
  return `data directory migrated from format ${found} to ${DATA_FORMAT}; the directory as it was is kept in ${path.relative(paths.home, copy)}`;
}
