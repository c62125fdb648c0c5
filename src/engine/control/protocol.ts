import type { Config } from '../../store/schema.js';
import type { VersionMeta, VersionRecord } from '../../store/versions.js';
import type { ListenerStatus } from '../listener/manager.js';
import type { RecentAlert } from '../alerts/alerts.js';
import type { QueuedRecipient } from '../delivery/runner.js';
import type { StsCacheEntry } from '../mtasts/service.js';

/**
 * The control socket speaks newline-delimited JSON: one request object per line, one reply per
 * request, matched by `id`.
 */
export type Request =
  | { id?: number; op: 'ping' }
  | { id?: number; op: 'status' }
  | { id?: number; op: 'config' }
  | { id?: number; op: 'history' }
  | { id?: number; op: 'version'; version: number }
  | { id?: number; op: 'commit'; baseVersion: number; config: Config; comment: string; user: string }
  | { id?: number; op: 'stop' }
  | { id?: number; op: 'deliverynow'; domain?: string }
  | { id?: number; op: 'tlsverify'; domain: string }
  | { id?: number; op: 'daneverify'; domain: string }
  | { id?: number; op: 'alerts' }
  | { id?: number; op: 'mtasts' }
  | { id?: number; op: 'tlsrpt-send' }
  | { id?: number; op: 'recipients' }
  | { id?: number; op: 'bounce'; mid?: number; domain?: string; sender?: string; all?: boolean };

export interface EngineStatus {
  pid: number;
  version: string;
  startedAt: string;
  uptimeSeconds: number;
  home: string;
  configVersion: number;
  hostname: string;
  listeners: ListenerStatus[];
  queue: { messages: number; bytes: number };
  /** Outbound: messages being delivered now, and idle connections kept for the next message. */
  delivery: { active: number; idleConnections: number; down: { domain: string; until: string; reason: string }[] };
  /** The queue's file system against its reserve, and whether the mail log can be written. */
  storage: { freeMb: number; reserveMb: number; accepting: boolean; mailLog: string };
  /** Why the committed configuration could not be applied when the engine started, if it could not. */
  startupProblem?: string;
}

export interface Results {
  ping: { pong: true; pid: number };
  status: EngineStatus;
  config: VersionRecord;
  history: VersionMeta[];
  version: VersionRecord;
  commit: VersionMeta;
  stop: { stopping: true };
  deliverynow: { messages: number };
  tlsverify: { lines: string[] };
  daneverify: { lines: string[]; ok: boolean };
  alerts: RecentAlert[];
  mtasts: StsCacheEntry[];
  'tlsrpt-send': { lines: string[] };
  recipients: QueuedRecipient[];
  bounce: { recipients: number };
}

export type ErrorCode = 'bad-request' | 'unknown-op' | 'stale' | 'invalid' | 'apply' | 'no-changes' | 'not-found' | 'internal';

export type Reply =
  | { id?: number; ok: true; result: unknown }
  | { id?: number; ok: false; error: { code: ErrorCode; message: string } };

/** A request line may not exceed this (configurations with certificates are a few MB at most). */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;
