import type { LogLevel } from '../log/mailLog.js';
import type { IdKind } from '../ids.js';
import type { ListenerState } from '../listener/smtpListener.js';
import type { Envelope } from '../queue/spool.js';

/**
 * Messages between the engine and its listener workers, over the IPC channel of
 * child_process.fork (ordered; a connection's socket travels with its `connection` message).
 */

/** What a worker needs besides its listeners: refreshed on every commit. */
export interface WorkerSettings {
  hostname: string;
  reserveMb: number;
  queueDir: string;
  /** The mail log can be written (else new connections get 421, as in the engine). */
  logHealthy: boolean;
}

export type ToWorker =
  | { t: 'settings'; settings: WorkerSettings }
  | { t: 'listeners'; listeners: [key: string, state: ListenerState][] }
  | { t: 'ticketKey'; key: string }
  /** A new connection on listener `key`; its socket travels with the message. */
  | { t: 'connection'; key: string; id: number }
  | { t: 'reply'; id: number; value?: unknown; error?: string }
  /** Take no more connections; exit once those open have ended (421 to any left after the grace time). */
  | { t: 'stop'; graceMs: number };

export type Call =
  /** `count` consecutive numbers of one kind, for the worker to hand out itself. */
  | { op: 'lease'; kind: IdKind; count: number }
  | { op: 'acquire'; key: string; max: number; listenerMax: number }
  | { op: 'reverse'; ip: string };

export type FromWorker =
  /** What one turn of the worker's event loop had to say, in order (one IPC write, not one per line). */
  | { t: 'batch'; messages: FromWorker[] }
  | { t: 'ready' }
  | { t: 'log'; level: LogLevel; line: string }
  | { t: 'flushLog' }
  | { t: 'call'; id: number; call: Call }
  | { t: 'release'; key: string }
  /** The worker holds connection `id` (the engine closes its own copy of the socket). */
  | { t: 'taken'; id: number }
  | { t: 'closed'; key: string }
  | { t: 'queued'; envelope: Envelope }
  /** A session on listener `listener` got its ICID (the engine's metrics count it). */
  | { t: 'connected'; listener: string }
  | { t: 'tlsFailed'; address: string; reason: 'handshake failed' | 'no STARTTLS' };
