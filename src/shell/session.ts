import os from 'node:os';
import { EngineError, request } from '../control/client.js';
import type { Caller, Op, Params, Results } from '../control/protocol.js';
import { ControlError } from '../control/dispatch.js';
import { diffConfig } from '../store/diff.js';
import type { DataPaths } from '../store/paths.js';
import type { Config } from '../store/schema.js';
import type { Role } from '../store/accounts/users.js';
import { type Level, levelText, levelWords, type Origin } from '../store/cluster/levels.js';
import { CommandError } from './errors.js';
import type { Io } from './io.js';

/** Starts the engine of a data directory if none is running. */
export type EngineLauncher = (paths: DataPaths) => Promise<{ pid: number; started: boolean; note?: string }>;

/** An appliance account (userconfig) a session runs as: over SSH its role limits what it may do. */
export interface Account {
  name: string;
  role: Role;
}

/**
 * One shell session: the committed configuration it started from (the base) and the draft the
 * administrator edits. Everything reaches the engine through the control socket, or, for an SSH
 * session inside the engine, through the engine's operations as the session's account. Either
 * way the engine decides what the session may do.
 */
export class Session {
  private base: { version: number; config: Config } | undefined;
  private pending: Config | undefined;
  /** The newer committed version this session has already warned about. */
  private warnedAbout: number | undefined;
  /** In a cluster: its name, and the level this session's edits go to (clustermode; the cluster by default). */
  private cluster: string | undefined;
  private level: Level = { kind: 'cluster' };
  readonly user: string;
  quitRequested = false;

  constructor(
    readonly paths: DataPaths,
    readonly io: Io,
    /** Absent for the local shell, which runs with its operating-system user's rights. */
    readonly account?: Account,
    /** The engine's operations as the account (SSH); the control socket when absent. */
    private readonly engine?: Caller,
    /** Starts a local engine for the data directory when none runs (cli.ts hands appliance/daemon.ts's). */
    private readonly launcher?: EngineLauncher,
  ) {
    this.user = account?.name ?? (process.env.SUDO_USER || process.env.USER || safeUsername());
  }

  /** Start the engine for this data directory if none is running. */
  async ensureEngine(): Promise<void> {
    if (this.engine || !this.launcher) return; // inside the engine's own process, or nothing to start it with
    const { started, pid, note } = await this.launcher(this.paths);
    if (note) this.io.print(note);
    if (started) this.io.print(`Started the mxgate engine for ${this.paths.home} (pid ${pid}).`);
  }

  async call<O extends Op>(op: O, params?: Params<O>): Promise<Results[O]> {
    try {
      if (this.engine) return await this.engine(op, (params ?? {}) as Params<O>);
      return await request(this.paths.socket, op, params);
    } catch (err) {
      if (err instanceof ControlError) throw new EngineError(err.code, err.message);
      if (err instanceof EngineError && err.code === 'unreachable') {
        throw new CommandError(`${err.message}. Start it with "mxgate engine start".`);
      }
      throw err;
    }
  }

  /** The engine's status, or undefined when no engine answers (status and version say so themselves). */
  async engineStatus(timeoutMs?: number): Promise<Results['status'] | undefined> {
    try {
      if (this.engine) return await this.engine('status', {});
      return await request(this.paths.socket, 'status', undefined, timeoutMs);
    } catch (err) {
      if (err instanceof EngineError && err.code === 'unreachable') return undefined;
      throw err;
    }
  }

  /** Load the committed configuration the first time a command needs it. */
  async load(): Promise<void> {
    if (this.base) return;
    const head = await this.call('config', { level: this.level });
    this.cluster = head.cluster;
    this.base = { version: head.version, config: head.config };
    this.pending = structuredClone(head.config);
  }

  get baseVersion(): number {
    return this.loaded().version;
  }

  get committed(): Config {
    return this.loaded().config;
  }

  /** The configuration as this session sees it: committed plus pending edits. */
  get draft(): Config {
    this.loaded();
    return this.pending!;
  }

  set draft(next: Config) {
    this.loaded();
    this.pending = next;
  }

  hasChanges(): boolean {
    return this.base !== undefined && diffConfig(this.base.config, this.pending).length > 0;
  }

  /**
   * Another session committed since this one loaded. Without pending edits nothing can be lost:
   * move to the newest version at once. With edits, say so (once per version) and how to rebase,
   * before the administrator builds more on an old view.
   */
  async catchUp(): Promise<void> {
    if (!this.base) return;
    const { configVersion } = await this.call('status');
    if (configVersion === this.base.version) return;
    if (!this.hasChanges()) {
      await this.clear();
      return;
    }
    if (this.warnedAbout === configVersion) return;
    this.warnedAbout = configVersion;
    this.io.warn(
      `Version ${configVersion} was committed by another session after this one started from version ${this.base.version}; your pending changes are based on the older one and "commit" will be refused. "showchanges" lists them; "clearchanges" starts again from version ${configVersion}.`,
    );
  }

  /**
   * Remember the draft before a command runs. The returned function puts it back (a command that
   * was cancelled or failed leaves no half of its changes behind) and says whether that undid
   * anything. After a commit or a rebase there is nothing to put back.
   */
  checkpoint(): () => boolean {
    if (!this.base) return () => false;
    const base = this.base;
    const draft = structuredClone(this.pending!);
    return () => {
      // The session moved to another version or level meanwhile: the draft belongs to the old one.
      if (this.base !== base) return false;
      const undone = diffConfig(draft, this.pending).length > 0;
      this.pending = draft;
      return undone;
    };
  }

  /** Forget the edits and start again from the newest committed version. */
  async clear(): Promise<void> {
    this.base = undefined;
    this.pending = undefined;
    await this.load();
  }

  async commit(comment: string, options: { rollbackTo?: number; confirmMinutes?: number; force?: boolean } = {}): Promise<Results['commit']> {
    const meta = await this.call('commit', { baseVersion: this.baseVersion, config: this.draft, comment, user: this.user, ...(this.cluster ? { level: this.level } : {}), ...options });
    this.base = { version: meta.version, config: structuredClone(this.draft) };
    return meta;
  }

  /** commit check: what a commit of the draft at this session's level would find; nothing applied or recorded. */
  check(): Promise<Results['commit-check']> {
    return this.call('commit-check', { baseVersion: this.baseVersion, config: this.draft, user: this.user, ...(this.cluster ? { level: this.level } : {}) });
  }

  /** The hostname for the prompt, once known. */
  get hostname(): string {
    return this.base?.config.hostname ?? 'mxgate';
  }

  /** The prompt's name: the host, and in a cluster the level edits go to ("mx1 (Cluster Gateways)"), as the appliance shows it. */
  get promptName(): string {
    return this.cluster ? `${this.hostname} (${this.levelName})` : this.hostname;
  }

  get clusterName(): string | undefined {
    return this.cluster;
  }

  /** In a cluster, the level this session's edits go to ("Cluster Gateways", "Machine mx2.example.com"). */
  get levelName(): string | undefined {
    if (!this.cluster) return undefined;
    return this.level.kind === 'cluster' ? `Cluster ${this.cluster}` : levelText(this.level);
  }

  /** In a cluster: where each value this session's level sees is set, read fresh (showconfig). */
  async origins(): Promise<{ level: string; origins: Origin[] } | undefined> {
    if (!this.cluster) return undefined;
    const { origins } = await this.call('config', { level: this.level });
    return { level: this.levelName!, origins: origins ?? [] };
  }

  /** clustermode: edits go to another level from now on; the session starts again from that level's view. */
  async setLevel(level: Level): Promise<void> {
    if (this.hasChanges()) throw new CommandError('There are uncommitted changes at this level. Commit them or run "clearchanges" before switching.');
    const before = this.level;
    this.level = level;
    try {
      await this.clear();
    } catch (err) {
      this.level = before; // an unknown group or machine: stay where the session was
      await this.clear();
      throw err;
    }
  }

  /**
   * In a cluster, a command whose settings live at one level runs there: an interactive session is
   * offered the switch; a script is told which clustermode to use, and nothing runs.
   */
  async ensureLevel(command: { name: string; level?: 'machine' | 'cluster' }): Promise<void> {
    if (!this.cluster || !command.level || this.level.kind === command.level) return;
    const want: Level = command.level === 'cluster' ? { kind: 'cluster' } : { kind: 'machine', name: this.hostname };
    const kept = `${command.name} changes settings kept at ${command.level} level, and this session edits ${this.levelName}.`;
    const switchWith = `clustermode ${levelWords(want).replace(':', ' ')}`;
    if (this.io.interactive && !this.hasChanges()) {
      if (!(await this.io.confirm(`${kept} Switch modes to edit at "${levelText(want)}"?`, true))) throw new CommandError(`${command.name} not run: it needs "${switchWith}".`);
      await this.setLevel(want);
      this.io.print(`Changes now go to: ${levelText(want)}.`);
      return;
    }
    throw new CommandError(`${kept} Switch with "${switchWith}"${this.hasChanges() ? ' after committing or clearing the changes made here' : ''} first.`);
  }

  /** After clusterconfig create / join / leave: the session starts again from what the machine runs now. */
  async membershipChanged(): Promise<void> {
    this.level = { kind: 'cluster' };
    await this.clear();
  }

  private loaded(): { version: number; config: Config } {
    if (!this.base) throw new Error('configuration not loaded');
    return this.base;
  }
}

function safeUsername(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'admin';
  }
}
