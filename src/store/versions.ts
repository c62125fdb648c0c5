import { readdir, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { ensureDir, removeLitter, writeFileAtomic } from './atomic.js';
import type { DataPaths } from './paths.js';
import { type Config, validateConfig } from './schema.js';

export interface VersionMeta {
  version: number;
  time: string;
  user: string;
  comment: string;
  /** Set when the history file cannot be read: why (the version is listed, not usable). */
  unreadable?: string;
}

export interface VersionRecord extends VersionMeta {
  config: Config;
}

const historyName = (version: number) => `${String(version).padStart(6, '0')}.json`;
const HISTORY_FILE = /^\d{6}\.json$/;

export class StartupError extends Error {
  override name = 'StartupError';
}

/**
 * Committed configuration versions on disk: config/current.json plus config/history/NNNNNN.json.
 * Only the engine writes here, and only after the configuration was applied.
 */
export class VersionStore {
  private head: VersionRecord | undefined;
  /** What `open` had to repair, for the mail log. */
  readonly repairs: string[] = [];

  constructor(private readonly paths: DataPaths) {}

  private async historyNames(): Promise<string[]> {
    return (await readdir(this.paths.historyDir)).filter((n) => HISTORY_FILE.test(n)).sort();
  }

  /**
   * Load the committed version, creating version 1 from `initial` on a new appliance only. Never a
   * silent reset: when current.json is missing or damaged, the newest readable history version is
   * taken (and said); with history but none readable, start-up is refused. History versions newer
   * than the committed one (a commit killed half-way) are set aside, never overwritten.
   */
  async open(initial: () => Config | Promise<Config>): Promise<VersionRecord> {
    await ensureDir(this.paths.historyDir);
    for (const dir of [this.paths.configDir, this.paths.historyDir]) {
      for (const n of await removeLitter(dir)) this.repairs.push(`removed ${path.join(path.basename(dir), n)}, left by an interrupted write`);
    }
    const history = await this.historyNames();
    let text: string | undefined;
    try {
      text = await readFile(this.paths.currentConfig, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text === undefined && history.length === 0) {
      return this.record(await initial(), { user: 'system', comment: 'Initial configuration' });
    }
    let damage: string | undefined;
    if (text !== undefined) {
      try {
        this.head = parseRecord(text, 'config/current.json');
      } catch (err) {
        damage = (err as Error).message;
      }
    } else {
      damage = 'config/current.json is missing';
    }
    if (!this.head) await this.recover(history, damage!);
    for (const n of history) {
      if (Number(n.slice(0, 6)) <= this.head!.version) continue;
      await rename(path.join(this.paths.historyDir, n), path.join(this.paths.historyDir, `${n}.orphan`));
      this.repairs.push(`history/${n} was never committed (a commit was interrupted); set aside as history/${n}.orphan`);
    }
    return this.head!;
  }

  /** current.json is gone or damaged: the newest readable history version becomes current again. */
  private async recover(history: string[], damage: string): Promise<void> {
    const problems: string[] = [];
    for (const n of [...history].reverse()) {
      try {
        const rec = parseRecord(await readFile(path.join(this.paths.historyDir, n), 'utf8'), `history/${n}`);
        if (rec.version !== Number(n.slice(0, 6))) throw new Error(`history/${n} holds version ${rec.version}`);
        const text = JSON.stringify(rec, null, 2) + '\n';
        if (damage !== 'config/current.json is missing') {
          await rename(this.paths.currentConfig, `${this.paths.currentConfig}.damaged-${Date.now()}`);
        }
        await writeFileAtomic(this.paths.currentConfig, text);
        this.head = rec;
        this.repairs.push(`${damage}: committed version ${rec.version} recovered from history/${n}${problems.length ? ` (newer history unreadable: ${problems.join('; ')})` : ''}`);
        return;
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    throw new StartupError(`${damage}, and none of the ${history.length} history versions can be read (${problems.join('; ')}). Nothing was changed: restore the data directory from a backup, or move config/ away to start from factory settings.`);
  }

  get current(): VersionRecord {
    if (!this.head) throw new Error('version store is not open');
    return this.head;
  }

  /** Write the next version: history first, then current.json (each fsynced and renamed). */
  async record(config: Config, meta: { user: string; comment: string }): Promise<VersionRecord> {
    const rec: VersionRecord = {
      version: (this.head?.version ?? 0) + 1,
      time: new Date().toISOString(),
      user: meta.user,
      comment: meta.comment,
      config,
    };
    const text = JSON.stringify(rec, null, 2) + '\n';
    // Exclusive: committed history is never overwritten, whatever is on disk.
    await writeFileAtomic(path.join(this.paths.historyDir, historyName(rec.version)), text, 0o600, { exclusive: true });
    await writeFileAtomic(this.paths.currentConfig, text);
    this.head = rec;
    return rec;
  }

  /** Every history version; one that cannot be read is listed with the reason, the rest still show. */
  async list(): Promise<VersionMeta[]> {
    const metas: VersionMeta[] = [];
    for (const n of await this.historyNames()) {
      try {
        const { config: _config, ...meta } = parseRecord(await readFile(path.join(this.paths.historyDir, n), 'utf8'), n);
        metas.push(meta);
      } catch (err) {
        metas.push({ version: Number(n.slice(0, 6)), time: '', user: '', comment: '', unreadable: (err as Error).message });
      }
    }
    return metas;
  }

  async get(version: number): Promise<VersionRecord | undefined> {
    try {
      return parseRecord(await readFile(path.join(this.paths.historyDir, historyName(version)), 'utf8'), historyName(version));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
}

function parseRecord(text: string, where: string): VersionRecord {
  let raw: VersionRecord;
  try {
    raw = JSON.parse(text) as VersionRecord;
  } catch (err) {
    throw new Error(`${where}: not valid JSON (${(err as Error).message})`);
  }
  return { version: raw.version, time: raw.time, user: raw.user, comment: raw.comment, config: validateConfig(raw.config) };
}

/** A commit confirmed waiting for `commit confirm`: undone at its deadline otherwise (kept on disk, or in a cluster version). */
export interface PendingConfirmation {
  /** The version to be confirmed, and the one to go back to. */
  version: number;
  previous: number;
  deadline: string;
  user: string;
  minutes: number;
}
