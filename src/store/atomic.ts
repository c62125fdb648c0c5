import { randomBytes } from 'node:crypto';
import { access, link, mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

async function syncDirNow(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Per directory: the fsync under way, and the one that will follow it. */
const dirSyncs = new Map<string, { running?: Promise<void>; next?: Promise<void> }>();

/**
 * fsync a directory so that a rename or a new file in it survives a crash. Group commit: callers
 * that arrive while a sync is under way (which may have started before their rename) share the
 * one sync that starts when it ends, so sixteen sessions queueing at once cost two directory
 * syncs, not sixteen. Every caller still returns only after a sync that began after its call.
 */
export function fsyncDir(dir: string): Promise<void> {
  let state = dirSyncs.get(dir);
  if (!state) dirSyncs.set(dir, (state = {}));
  const s = state;
  if (!s.running) {
    const run = syncDirNow(dir).finally(() => {
      if (s.running === run) s.running = undefined;
    });
    s.running = run;
    return run;
  }
  s.next ??= s.running
    .catch(() => undefined)
    .then(() => {
      s.next = undefined;
      return fsyncDir(dir);
    });
  return s.next;
}

/**
 * Write a file so that readers see either the old or the new content, never a torn one:
 * temporary file, fsync, rename, fsync of the directory.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o600, options: { exclusive?: boolean } = {}): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  try {
    // exclusive: a file that exists already is never replaced (link fails with EEXIST).
    if (options.exclusive) {
      await link(tmp, file).catch(async (err: NodeJS.ErrnoException) => {
        // A file system without hard links: check, then rename (the engine is the only writer).
        if (err.code === 'EEXIST') throw err;
        const exists = await access(file).then(
          () => true,
          () => false,
        );
        if (exists) throw Object.assign(new Error(`${file} exists already`), { code: 'EEXIST' });
        await rename(tmp, file);
      });
      await unlink(tmp).catch(() => undefined);
    } else {
      await rename(tmp, file);
    }
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fsyncDir(dir);
}

/** The temporary-file name pattern writeFileAtomic uses (and IdAllocator's ids.json.tmp). */
const LITTER = /^(\..+\.[0-9a-f]{12}\.tmp|.+\.json\.tmp)$/;

/** Remove temporary files a killed writer left behind; returns their names. */
export async function removeLitter(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const litter = names.filter((n) => LITTER.test(n));
  for (const n of litter) await unlink(path.join(dir, n)).catch(() => undefined);
  return litter;
}

/** mkdir -p with an owner-only mode for directories the appliance creates. */
export async function ensureDir(dir: string, mode = 0o700): Promise<void> {
  await mkdir(dir, { recursive: true, mode });
}
