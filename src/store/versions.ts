import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ensureDir, writeFileAtomic } from './atomic.js';
import type { DataPaths } from './paths.js';
import { type Config, validateConfig } from './schema.js';

export interface VersionMeta {
  version: number;
  time: string;
  user: string;
  comment: string;
}

export interface VersionRecord extends VersionMeta {
  config: Config;
}

const historyName = (version: number) => `${String(version).padStart(6, '0')}.json`;

/**
 * Committed configuration versions on disk: config/current.json plus config/history/NNNNNN.json.
 * Only the engine writes here, and only after the configuration was applied.
 */
export class VersionStore {
  private head: VersionRecord | undefined;

  constructor(private readonly paths: DataPaths) {}

  /** Load the committed version, creating version 1 from `initial` on a new appliance. */
  async open(initial: () => Config | Promise<Config>): Promise<VersionRecord> {
    await ensureDir(this.paths.historyDir);
    let text: string | undefined;
    try {
      text = await readFile(this.paths.currentConfig, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text === undefined) {
      return this.record(await initial(), { user: 'system', comment: 'Initial configuration' });
    }
    this.head = parseRecord(text, this.paths.currentConfig);
    return this.head;
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
    await writeFileAtomic(path.join(this.paths.historyDir, historyName(rec.version)), text);
    await writeFileAtomic(this.paths.currentConfig, text);
    this.head = rec;
    return rec;
  }

  async list(): Promise<VersionMeta[]> {
    const names = (await readdir(this.paths.historyDir)).filter((n) => /^\d{6}\.json$/.test(n)).sort();
    const metas: VersionMeta[] = [];
    for (const n of names) {
      const { config: _config, ...meta } = parseRecord(await readFile(path.join(this.paths.historyDir, n), 'utf8'), n);
      metas.push(meta);
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
