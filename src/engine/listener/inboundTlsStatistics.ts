import path from 'node:path';
import { DomainTlsStatistics, type SharedTlsStatistics } from '../delivery/domainTlsStatistics.js';
import type { Envelope } from '../queue/spool.js';

export const NULL_SENDER = '(null sender)';

/**
 * How mail arrived, per UTC day for the last 31 days (and per hour for the last 24) (tlsreport inbound): each message by its
 * sending domain (MAIL FROM) and by the client host that sent it, in clear or over TLS; and the
 * sessions whose TLS failed (a broken handshake, or a client that never started the TLS its policy
 * required), by client host: before making TLS Required for a sender group, the administrator sees
 * who would be refused. Bounded and kept on disk like the outbound counts.
 */
export class InboundTlsStatistics {
  readonly senders: DomainTlsStatistics;
  readonly hosts: DomainTlsStatistics;

  constructor(cacheDir: string, warn: (m: string) => void, now: () => number = Date.now, pool: () => SharedTlsStatistics | undefined = () => undefined) {
    this.senders = new DomainTlsStatistics(path.join(cacheDir, 'tls-statistics-inbound-senders.json'), now, warn, pool);
    this.hosts = new DomainTlsStatistics(path.join(cacheDir, 'tls-statistics-inbound-hosts.json'), now, warn, pool);
  }

  async open(): Promise<void> {
    await Promise.all([this.senders.open(), this.hosts.open()]);
  }

  async flush(): Promise<void> {
    await Promise.all([this.senders.flush(), this.hosts.flush()]);
  }

  async close(): Promise<void> {
    await Promise.all([this.senders.close(), this.hosts.close()]);
  }

  /** A message in the queue, as the listener took it. */
  message(envelope: Pick<Envelope, 'from' | 'clientAddress' | 'receivedOverTls'>): void {
    const outcome = envelope.receivedOverTls ? 'tls' : 'clear';
    const at = envelope.from.lastIndexOf('@');
    this.senders.message(at < 0 ? NULL_SENDER : envelope.from.slice(at + 1), outcome);
    this.hosts.message(envelope.clientAddress, outcome);
  }

  /** A session whose TLS failed; it carried nothing. */
  failure(clientAddress: string, reason: 'handshake failed' | 'no STARTTLS'): void {
    this.hosts.failure(clientAddress, reason);
  }
}
