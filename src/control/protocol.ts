import { z } from 'zod';
import type { Config } from '../store/schema.js';
import type { VersionMeta, VersionRecord } from '../store/versions.js';
import type { Origin } from '../store/cluster/levels.js';
import type { AcmeRenewalStatus, ClusterMachine, ClusterStatus, DomainTlsRow, HourCounts, TlsSuggestion, Inconsistency, ListenerStatus, PendingConfirmation, QueuedRecipient, RecentAlert, StsCacheEntry, WorkerStatus } from './status.js';

/**
 * The control socket speaks newline-delimited JSON: one request object per line, one reply per
 * request, matched by `id`. Every operation and the shape of its parameters are here, once: the
 * engine's handler table is typed by them and every request is checked against them before a
 * handler sees it (the shell and any other front end go through the same table).
 */
const none = z.object({}).strict();
const domain = z.string().min(1).max(253);
/** Where a session's edits go in a cluster (clustermode); standalone appliances have one level. */
const level = z.union([
  z.object({ kind: z.literal('cluster') }).strict(),
  z.object({ kind: z.enum(['group', 'machine']), name: z.string().min(1).max(253) }).strict(),
]);
const clusterName = z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, 'must start with a letter and hold only letters, digits, "_", "-" or "." (at most 64)');
const address = z.string().min(1).max(100);
export const OPERATIONS = {
  ping: none,
  status: none,
  config: z.object({ level: level.optional() }).strict(),
  history: none,
  version: z.object({ version: z.number().int().min(1) }).strict(),
  commit: z
    .object({
      baseVersion: z.number().int(),
      /** Validated in full by the engine (validateConfig), with readable messages. */
      config: z.custom<Config>((v) => v !== null && typeof v === 'object' && !Array.isArray(v), 'must be a configuration object'),
      comment: z.string().max(10_000),
      user: z.string().min(1).max(256),
      level: level.optional(),
      /** rollbackconfig: in a cluster, every level goes back to this version. */
      rollbackTo: z.number().int().min(1).optional(),
      /** commit confirmed MINUTES: undone unless confirmed within that long. */
      confirmMinutes: z.number().int().min(1).max(1440).optional(),
      /** Commit even though it cuts the committing session's way back in (answered yes, or --force). */
      force: z.boolean().optional(),
    })
    .strict(),
  /** commit check: everything a commit would try, without applying or recording. */
  'commit-check': z
    .object({
      baseVersion: z.number().int(),
      config: z.custom<Config>((v) => v !== null && typeof v === 'object' && !Array.isArray(v), 'must be a configuration object'),
      user: z.string().min(1).max(256),
      /** In a cluster: the level the session edits. */
      level: level.optional(),
    })
    .strict(),
  /** commit confirm: the version waiting for confirmation stays. */
  'commit-confirm': z.object({ user: z.string().min(1).max(256) }).strict(),
  /** `user`: who the local shell's operating-system user is, recorded in the cluster's history (accounts always act as themselves). */
  'cluster-create': z.object({ name: clusterName, address, user: z.string().min(1).max(256).optional() }).strict(),
  'cluster-token': z.object({ ttlMinutes: z.number().int().min(1).max(7 * 24 * 60) }).strict(),
  'cluster-join': z.object({ at: address, token: z.string().min(1).max(500), address }).strict(),
  'cluster-list': none,
  'cluster-check': none,
  'cluster-leave': z.object({ user: z.string().min(1).max(256).optional() }).strict(),
  /** clusterset: copy or move a setting between levels, or delete it at a level (it inherits again). */
  'cluster-set': z.object({ action: z.enum(['copy', 'move', 'delete']), setting: z.string().min(1).max(300), from: level, to: level.optional(), user: z.string().min(1).max(256).optional() }).strict(),
  /** clusterconfig addgroup / removegroup / setgroup. */
  'cluster-group': z.object({ action: z.enum(['add', 'remove', 'set']), group: z.string().min(1).max(64), machine: z.string().min(1).max(253).optional(), user: z.string().min(1).max(256).optional() }).strict(),
  'cluster-remove': z.object({ machine: z.string().min(1).max(253), user: z.string().min(1).max(256).optional() }).strict(),
  stop: none,
  deliverynow: z.object({ domain: domain.optional() }).strict(),
  dnsflush: none,
  tlsverify: z.object({ domain }).strict(),
  daneverify: z.object({ domain }).strict(),
  alerts: none,
  mtasts: none,
  'tlsrpt-send': none,
  recipients: none,
  'tls-outcomes': none,
  /**
   * tlsreport: outbound, each destination domain's deliveries over the last DAYS UTC days or HOURS
   * clock hours; inbound, the messages received by sending domain (`domain` filters them) and by
   * client host (`host`).
   */
  'tls-statistics': z
    .object({
      days: z.number().int().min(1).max(31).optional(),
      hours: z.number().int().min(1).max(24).optional(),
      direction: z.enum(['outbound', 'inbound']).optional(),
      domain: z.string().max(253).optional(),
      host: z.string().max(64).optional(),
    })
    .strict()
    .refine((b) => b.days === undefined || b.hours === undefined, 'tls-statistics takes days or hours, not both'),
  'ssh-hostkeys': none,
  /** certconfig acme account new: register an account at an ACME CA (the engine makes and keeps its key). */
  'acme-account': z
    .object({
      directory: z.string().url().max(2000),
      email: z.string().min(3).max(320),
      externalAccountBinding: z.object({ kid: z.string().min(1).max(500), hmacKey: z.string().min(1).max(500) }).strict().optional(),
    })
    .strict(),
  /** certconfig acme new / renew: order a certificate for a key already in keys/ (the caller's pending account and update servers). */
  'acme-order': z
    .object({
      account: z.object({ directory: z.string().url().max(2000), url: z.string().url().max(2000), keyRef: z.string().regex(/^[0-9a-f]{64}$/) }).strict(),
      names: z.array(domain).min(1).max(100),
      challenge: z.enum(['http-01', 'dns-01']),
      keyRef: z.string().regex(/^[0-9a-f]{64}$/),
      updateServers: z
        .array(z.object({ zone: domain, server: address, keyName: domain, keyRef: z.string().regex(/^tsig-[0-9a-f]{64}$/) }).strict())
        .max(1000),
    })
    .strict(),
  /** certconfig acme renew: renew a committed ACME profile now (with a TLSA rollover when its key changes and it has DANE). */
  'acme-renew': z.object({ name: z.string().min(1).max(64) }).strict(),
  'acme-status': none,
  /** Lift the login lock-outs of an account (userconfig unlock, the GUI's Users page). */
  unlock: z.object({ account: z.string().min(1).max(64) }).strict(),
  bounce: z
    .object({ mid: z.number().int().min(1).optional(), domain: domain.optional(), sender: z.string().max(320).optional(), all: z.literal(true).optional() })
    .strict()
    .refine((b) => b.mid !== undefined || b.domain !== undefined || b.sender !== undefined || b.all, 'bounce needs mid, domain, sender or all'),
} satisfies Record<string, z.ZodType>;

export type Op = keyof typeof OPERATIONS;
export type Params<O extends Op> = z.infer<(typeof OPERATIONS)[O]>;
export type Request = { [O in Op]: { id?: number; op: O } & Params<O> }[Op];

export interface EngineStatus {
  pid: number;
  /** The account the engine runs as (after dropping root: the service account). */
  account?: string;
  /** The syslog servers the logs are pushed to (logconfig --syslog), and whether they take lines now. */
  logPush?: LogPushStatus[];
  version: string;
  startedAt: string;
  uptimeSeconds: number;
  home: string;
  configVersion: number;
  hostname: string;
  listeners: ListenerStatus[];
  /** Listener worker processes (connections here count in `listeners` too). */
  workers: WorkerStatus[];
  queue: { messages: number; bytes: number };
  /** Outbound: messages being delivered now, and idle connections kept for the next message. */
  delivery: { active: number; idleConnections: number; down: { domain: string; until: string; reason: string; probing: boolean }[] };
  /** The queue's file system against its reserve, and whether the mail log can be written. */
  storage: { freeMb: number; reserveMb: number; accepting: boolean; mailLog: string };
  /** The HTTPS management interface on each interface where it is on. */
  https: HttpsStatus[];
  /** The SSH service on each interface where it is on, with its open sessions. */
  ssh: SshStatus[];
  /** Accounts locked out after failed password logins, and from which addresses. */
  lockouts: { account: string; addresses: string[] }[];
  /** Why the committed configuration could not be applied when the engine started, if it could not. */
  startupProblem?: string;
  /** What the check of the DNS resolvers against the DNSSEC mode found (one line each). */
  dnsProblems?: string[];
  /** A commit confirmed that goes back at its deadline unless confirmed. */
  confirmation?: PendingConfirmation;
  /** The cluster this machine is a member of (configVersion is then the cluster's version). */
  cluster?: ClusterStatus;
}

export interface LogPushStatus {
  log: string;
  url: string;
  connected: boolean;
  /** Why it is not connected (since the last failure). */
  problem?: string;
  /** Lines waiting for it, and lines it did not get since the engine started. */
  waiting: number;
  dropped: number;
}

export interface HttpsStatus {
  interface: string;
  /** /metrics is served there. */
  metrics?: boolean;
  ip: string;
  port: number;
  httpRedirect: number | null;
  certificate: string;
}

export interface SshStatus {
  interface: string;
  ip: string;
  port: number;
  sessions: { account: string; address: string; since: string }[];
}

/** What each operation answers. */
export interface Results {
  ping: { pong: true; pid: number };
  status: EngineStatus;
  /** The configuration at the asked level; in a cluster, with the cluster's name, where each value is set, and its levels (levelsOf). */
  config: VersionRecord & { cluster?: string; origins?: Origin[]; levels?: string[]; confirmation?: PendingConfirmation };
  history: VersionMeta[];
  version: VersionRecord;
  /** Notes for the committer: changed values a narrower cluster level overrides; problems of changed DNS resolvers. */
  commit: VersionMeta & { notes?: string[]; confirmation?: PendingConfirmation };
  /** What would make the commit fail (problems), and what it should know (notes: lock-out, resolvers). */
  'commit-check': { problems: string[]; notes: string[] };
  /** The version confirmed, and who had committed it. */
  'commit-confirm': PendingConfirmation;
  stop: { stopping: true };
  deliverynow: { messages: number };
  /** How many cached answers went. */
  dnsflush: { flushed: number };
  tlsverify: { lines: string[] };
  daneverify: { lines: string[]; ok: boolean };
  alerts: RecentAlert[];
  mtasts: StsCacheEntry[];
  'tlsrpt-send': { lines: string[] };
  recipients: QueuedRecipient[];
  /** Outbound messages per hour by TLS outcome, the last 24 hours (the GUI's chart). */
  'tls-outcomes': HourCounts[];
  /** Inbound: `rows` by sending domain, `hosts` by client host (no suggestions). Outbound for one domain: `byDay`, its days. */
  /**
   * `since`: the start of the period; `series`: one domain's counts per day (per hour with `hours`);
   * `note`: what the figures lack (a cluster member that could not read the others' counts).
   */
  'tls-statistics': { since: string; rows: DomainTlsRow[]; suggestions: TlsSuggestion[]; hosts?: DomainTlsRow[]; series?: HourCounts[]; note?: string };
  bounce: { recipients: number };
  /** The SSH host keys' fingerprints (sshconfig hostkey print). */
  'ssh-hostkeys': { type: string; bits: number; fingerprint: string }[];
  'acme-account': { url: string; keyRef: string };
  'acme-order': { certificate: string; intermediates: string[]; notAfter: string };
  'acme-renew': { line: string };
  /** Each committed ACME profile: when it is due, failures, the next attempt, a rollover under way. */
  'acme-status': AcmeRenewalStatus[];
  /** How many (account, address) lock-outs were lifted. */
  unlock: { lifted: number };
  'cluster-create': ClusterStatus;
  'cluster-token': { token: string; expires: string };
  'cluster-join': ClusterStatus;
  'cluster-list': ClusterMachine[];
  /** clustercheck: empty when the machines agree with the committed document. */
  'cluster-check': Inconsistency[];
  'cluster-leave': { left: string };
  'cluster-set': VersionMeta;
  'cluster-group': VersionMeta;
  'cluster-remove': { removed: string };
}

export type ErrorCode = 'bad-request' | 'unknown-op' | 'stale' | 'invalid' | 'apply' | 'no-changes' | 'not-found' | 'forbidden' | 'unavailable' | 'lock-out' | 'internal';

export type Reply =
  | { id?: number; ok: true; result: unknown }
  | { id?: number; ok: false; error: { code: ErrorCode; message: string } };

/** A request line may not exceed this (configurations with certificates are a few MB at most). */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

/**
 * Who asks. The control socket is owner-only, so whoever reaches it is the appliance's owner and may
 * do everything (`local`, named by the shell's operating-system user). The HTTPS interface and SSH
 * act for a logged-in appliance account; the engine looks its role up in the committed
 * configuration at every request (access/authorize.ts), so no front-end's idea of the role counts.
 * `session` names the GUI or SSH session that asks: a commit that changes only the committer's own
 * password keeps that session open.
 */
export type Principal = { kind: 'local'; name: string } | { kind: 'account'; name: string; session?: string };

/** The engine's side: one handler per operation, given parameters already checked against OPERATIONS and an admitted principal. */
export type Handlers = { [O in Op]: (params: Params<O>, principal: Principal) => Promise<Results[O]> | Results[O] };

/** The table a transport dispatches into: the handlers, and the one check of who may run which operation. */
export interface OperationTable {
  handlers: Handlers;
  /** Throws ControlError('forbidden') when the principal may not run the operation at all. */
  admit(principal: Principal, op: Op): void;
}

/** One principal's way into the table (what a GUI page or an SSH shell session holds). */
export type Caller = <O extends Op>(op: O, params: Params<O>) => Promise<Results[O]>;
