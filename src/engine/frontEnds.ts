import type { PushedLog } from '../store/logs/syslogTarget.js';
import type { LoginGuard } from '../access/loginGuard.js';
import type { EngineStatus, OperationTable, Principal } from '../control/protocol.js';
import type { DataPaths } from '../store/paths.js';
import type { Config } from '../store/schema.js';
import type { VersionRecord } from '../store/versions.js';

/**
 * A service beside the mail engine that reaches administrators (the HTTPS interface, SSH). The
 * engine knows them only by this contract: the composition root (src/appliance/) builds them with
 * what the engine hands over, and a commit applies them with the listeners, all or nothing.
 */
/** Where a remote session came in: the service, the interface address and port it connected to, and its account. */
export interface SessionOrigin {
  service: 'SSH' | 'HTTPS';
  ip: string;
  port: number;
  account: string;
  /** SSH: the fingerprint of the key the session logged in with (SHA256:…); none for a password. */
  key?: string;
}

export interface FrontEnd {
  /** At engine start, once the data directory is in place, before the first apply. */
  open?(): void;
  /**
   * Bring the service in line with a configuration: throws ApplyError when it cannot (the commit
   * is refused), or with `bestEffort` (start-up) returns what could not be done.
   */
  apply(config: Config, options?: { bestEffort?: boolean }): Promise<string[]>;
  /** After a commit is recorded: sessions of accounts that changed end (the committer's own may go on). */
  committed?(config: Config, committer: Principal, version?: { version: number; comment: string }): void;
  /** A new session ticket key (rotation). */
  setTicketKeys?(key: Buffer): void;
  /** Where a session of this front-end came in, for the lock-out guard of commits. */
  origin?(session: string): SessionOrigin | undefined;
  /** What `status` shows of it. */
  status?(): Partial<Pick<EngineStatus, 'https' | 'ssh'>>;
  /** The SSH host keys' fingerprints (the service that has them). */
  fingerprints?(): Promise<{ type: string; bits: number; fingerprint: string }[]>;
  closeAll(): Promise<void>;
}

/** What the engine hands to the front-ends it is given. */
export interface FrontEndContext {
  paths: DataPaths;
  /** The engine's operations: a front-end acts through them as its logged-in account. */
  operations: OperationTable;
  /** The committed configuration (logging in happens before there is an account to act as). */
  committed: () => VersionRecord;
  /** Failed logins, counted across every front-end. */
  guard: LoginGuard;
  /** The session ticket key every TLS server shares (rotated; setTicketKeys tells of a new one). */
  ticketKeys: { current: Buffer };
  /** The Prometheus metrics, for a request to /metrics: the engine decides whether it may read them. */
  scrape: (request: ScrapeRequest) => Promise<ScrapeAnswer>;
  /** An audit log's line, for the syslog receiver it is pushed to (logconfig cli_logs|gui_logs --syslog). */
  pushLog: (log: PushedLog, level: 'Info' | 'Warning', text: string) => void;
}

/** A request for /metrics: where it came in, from whom, with what credentials. */
export interface ScrapeRequest {
  localAddress: string;
  localPort: number;
  clientAddress: string;
  /** The Authorization header, if any. */
  authorization?: string;
}

export type ScrapeAnswer = { status: 200; contentType: string; body: string } | { status: 401 | 404; body: string };

export type FrontEndFactory = (context: FrontEndContext) => FrontEnd[];
