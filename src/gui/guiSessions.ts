import type { PendingConfirmation } from '../control/status.js';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Role, User } from '../store/accounts/schema.js';
import { accountStamp } from '../store/accounts/users.js';
import type { Principal } from '../control/protocol.js';
import type { Level } from '../store/cluster/levels.js';
import type { Config } from '../store/schema.js';
import { diffConfig } from '../store/diff.js';

/**
 * Logged-in GUI sessions, kept in the engine's memory only (a restart logs everyone out). Each
 * holds, like a shell session, the committed version its edits started from and its pending
 * changes: edits become a draft, Commit Changes sends the draft with that base version, and the
 * engine refuses it when someone else committed in between (the session is told, not overwritten).
 */
export interface GuiSession {
  id: string;
  user: string;
  role: Role;
  /** The account as it was at login (accountStamp): a change of its role, password or keys ends the session. */
  stamp: string;
  address: string;
  /** Every form carries it; a POST without the session's token is refused. */
  csrf: string;
  createdAt: number;
  lastSeen: number;
  /** The committed version the pending changes start from, and those changes. */
  base?: { version: number; config: Config };
  pending?: Config;
  /** In a cluster: its name, and the level this session's edits go to (the cluster unless chosen). */
  cluster?: string;
  level?: Level;
  /** The levels the selector offers: the cluster, its groups, its machines (levelsOf, from the config reply). */
  levels?: string[];
  /** The interface address and port of its last request (the lock-out guard of commits). */
  via?: { ip: string; port: number };
  /** A commit confirmed waiting for confirmation (from the last look at the configuration). */
  confirmation?: PendingConfirmation;
  /** A rollback loaded as pending changes: committed as such (in a cluster, every level goes back) while unchanged. */
  rollback?: { version: number; config: Config };
  /** A one-time message for the next page (after a redirect). */
  flash?: { kind: 'ok' | 'error'; text: string };
  /** What a refused form held (never secrets), shown again in its fields on the next page. */
  typed?: Record<string, string>;
}

/** Idle sessions end after this; no session lives longer than MAX_AGE_MS. */
export const IDLE_MS = 30 * 60_000;
const MAX_AGE_MS = 12 * 3_600_000;
const MAX_SESSIONS = 200;

export const token = (): string => randomBytes(32).toString('base64url');

/** Two tokens match: both present, not empty, equal (compared in constant time). */
export function sameToken(a: string | undefined, b: string | undefined): boolean {
  if (typeof a !== 'string' || typeof b !== 'string' || a.length === 0 || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

export class GuiSessions {
  private readonly sessions = new Map<string, GuiSession>();

  constructor(private readonly now: () => number = Date.now) {}

  create(user: User, address: string): GuiSession {
    this.expire();
    if (this.sessions.size >= MAX_SESSIONS) {
      const oldest = [...this.sessions.values()].sort((a, b) => a.lastSeen - b.lastSeen)[0]!;
      this.sessions.delete(oldest.id);
    }
    const t = this.now();
    const session: GuiSession = { id: token(), user: user.name, role: user.role, stamp: accountStamp(user), address, csrf: token(), createdAt: t, lastSeen: t };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session for a cookie value, touched; undefined when unknown, idle too long or too old. */
  get(id: string | undefined): GuiSession | undefined {
    if (!id) return undefined;
    const s = this.sessions.get(id);
    if (!s) return undefined;
    const t = this.now();
    if (t - s.lastSeen > IDLE_MS || t - s.createdAt > MAX_AGE_MS) {
      this.sessions.delete(id);
      return undefined;
    }
    s.lastSeen = t;
    return s;
  }

  /** A live session, without touching it. */
  peek(id: string): GuiSession | undefined {
    return this.sessions.get(id);
  }

  end(id: string): void {
    this.sessions.delete(id);
  }

  /**
   * After a commit: sessions of accounts deleted, or whose role, password or keys changed, end. The
   * session that committed a change of its own password (the role unchanged) goes on.
   */
  retain(users: User[], committer?: Principal): void {
    for (const s of this.sessions.values()) {
      const u = users.find((x) => x.name === s.user);
      if (u && accountStamp(u) === s.stamp) continue;
      if (u && u.role === s.role && committer?.kind === 'account' && committer.session === s.id) s.stamp = accountStamp(u);
      else this.sessions.delete(s.id);
    }
  }

  private expire(): void {
    const t = this.now();
    for (const s of this.sessions.values()) if (t - s.lastSeen > IDLE_MS || t - s.createdAt > MAX_AGE_MS) this.sessions.delete(s.id);
  }
}

/** The session's pending changes against its base (empty when it has none). */
export const pendingChanges = (s: GuiSession) => (s.base && s.pending ? diffConfig(s.base.config, s.pending) : []);
