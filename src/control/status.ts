import type { Destination } from '../store/destinations/destinations.js';
import type { AlertClass, AlertSeverity } from '../store/alerts/alerts.js';

/**
 * What the engine reports over the operation table (status, recipients, alerts, tls-outcomes,
 * mtastsstatus): described here, by the control layer, so the shell, the GUI and SSH read the wire
 * without importing the engine. The engine's values must fit these shapes (the compiler checks it
 * at each handler).
 */

export interface ListenerStatus {
  name: string;
  certificate?: string;
  type: string;
  interface: string;
  ip: string;
  port: number;
  connections: number;
}

export interface WorkerStatus {
  pid: number;
  connections: number;
  startedAt: string;
}

export interface RecentAlert {
  time: string;
  severity: AlertSeverity;
  cls: AlertClass;
  summary: string;
  sentTo: string[];
  suppressed: boolean;
}

/** A pending recipient, as showrecipients lists it. */
export interface QueuedRecipient {
  mid: number;
  rid: number;
  from: string;
  to: string;
  receivedAt: string;
  attempts: number;
  nextAttemptAt: string | null;
  lastResponse: string | null;
}

/** One domain in the MTA-STS policy cache (mtastsstatus). */
export interface StsCacheEntry {
  domain: string;
  policy?: { mode: 'enforce' | 'testing' | 'none'; mx: string[]; maxAge: number; id: string; fetchedAt: string; expiresAt: string };
  lastFetch?: { at: string; ok: boolean; detail: string };
  /** Fetch failures in a row; at the limit fetching stops for a day. */
  failures: number;
  skipUntil?: string;
  lastUsed?: string;
}

/**
 * How each outbound message went, by TLS outcome (the dashboard's chart): which check, if any,
 * authenticated the peer of the session that carried it.
 */
export const TLS_OUTCOMES = ['clear', 'tls', 'verified', 'dane', 'mta-sts', 'failed'] as const;
export type TlsOutcome = (typeof TLS_OUTCOMES)[number];

export const TLS_OUTCOME_LABELS: Record<TlsOutcome, string> = {
  clear: 'Clear text',
  tls: 'TLS (not verified)',
  verified: 'TLS verified',
  dane: 'DANE',
  'mta-sts': 'MTA-STS',
  failed: 'Failed',
};

/** One hour of the chart: its start (ISO) and the messages per outcome. */
export type HourCounts = { hour: string } & Record<TlsOutcome, number>;

/** This machine in its cluster: the newest cluster version it has seen, the one it runs, and why not, if not. */
export interface ClusterStatus {
  name: string;
  machine: string;
  version: number;
  applied: number;
  problem?: string;
}

/** clustercheck: one way a machine (or etcd member) disagrees with the cluster's committed document, and what to do. */
export interface Inconsistency {
  subject: string;
  problem: string;
  remedy: string;
}

/** clusterconfig list: one machine of the cluster, as it last reported itself. */
export interface ClusterMachine {
  machine: string;
  group: string;
  health: string;
  applied: number | null;
  queue: number | null;
}

/** One ACME profile's renewal as the engine keeps it (certconfig acme status, certconfig tlsa). */
export interface AcmeRenewalStatus {
  name: string;
  /** When the profile renews: at a moment in the CA's suggested window (RFC 9773 renewal information), else two thirds into the certificate's lifetime. */
  due: string;
  dueBy: 'ari' | 'lifetime';
  /** The CA's page explaining its suggested window, if it gave one. */
  explanationURL?: string;
  failures: number;
  nextAttemptAt?: string;
  lastError?: string;
  /** In a cluster: whether this member renews the profile by itself (one member does for all that share it). */
  renewedHere?: boolean;
  /** A TLSA rollover under way: its step, since when, the TTL it waits, and the current and next keys' 3 1 1 data (hex). */
  rollover?: { step: 'published' | 'visible' | 'swapped'; since: string; ttl: number; current: string; next: string };
}

export type { PendingConfirmation } from '../store/versions.js';

/** A count of zero for every outcome. */
export const noOutcomes = (): Record<TlsOutcome, number> => Object.fromEntries(TLS_OUTCOMES.map((o) => [o, 0])) as Record<TlsOutcome, number>;

/** All of a domain's delivery attempts, whatever their outcome. */
export const deliveriesOf = (r: DomainTlsRow): number => TLS_OUTCOMES.reduce((n, o) => n + r.messages[o], 0);

/** Why a delivery connection carried nothing (tlsreport): the classes the per-domain report counts. */
export const TLS_FAILURE_REASONS = ['no connection', 'no STARTTLS', 'handshake failed', 'certificate invalid', 'certificate expired', 'name mismatch', 'DANE mismatch', 'DNSSEC bogus', 'MTA-STS', 'other'] as const;
export type TlsFailureReason = (typeof TLS_FAILURE_REASONS)[number];

/** One destination domain's deliveries over the days asked for (tlsreport outbound). */
export interface DomainTlsRow {
  domain: string;
  /** Messages, counted once per message and domain, by how the session that carried them went ("failed": none did). */
  messages: Record<TlsOutcome, number>;
  /** Of the "tls" ones (no check required), those whose certificate verified all the same. */
  verifiable: number;
  /** Connections that carried nothing, by why. */
  failures: Partial<Record<TlsFailureReason, number>>;
  /** The MX host names that took the messages ("(more)" last when there were more than are kept). */
  mxHosts?: string[];
}

/** A change the evidence allows (tlsreport): why, and the command that makes it. */
export interface TlsSuggestion {
  domain: string;
  evidence: string;
  command: string;
  /** The same change as an edit: the whole entry to put, new or replacing the domain's own (the GUI stages it). */
  entry: Destination;
  create: boolean;
  /** Only what the suggestion changes: applied to a pending entry, it keeps a change staged before it. */
  changes: Partial<Destination>;
}
