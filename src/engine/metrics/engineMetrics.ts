import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { certInfo } from '../../pki/certificate.js';
import { certificateUsers } from '../../store/certificates/certificates.js';
import type { Config } from '../../store/schema.js';
import type { TlsFailureReason, TlsOutcome } from '../../control/status.js';
import type { DnsSecurity } from '../dns/client.js';
import { VERSION } from '../../version.js';

/** What the engine reads when it is scraped (gauges are taken then, not kept up to date). */
export interface MetricSources {
  config: () => Config;
  queue: () => { messages: number; bytes: number };
  /** When the oldest queued message was received (a pass over the queue's index: asked once per scrape). */
  oldestReceivedAt: () => string | undefined;
  workers: () => { wanted: number; running: number; exits: number };
  /** Lines a log receiver did not get (syslog push), by log. */
  droppedLogLines?: () => { log: string; lines: number }[];
}

/** What the delivery scheduler tells the metrics (one call per attempt at a domain, one per recipient's end). */
export interface DeliveryMetrics {
  attempt(tls: TlsOutcome, failures: readonly TlsFailureReason[], seconds: number): void;
  recipient(outcome: 'delivered' | 'deferred' | 'bounced', secondsSinceReceived: number): void;
  /** A message left the queue (every recipient delivered or bounced). */
  finished(listener: string): void;
}

/** Delivery latencies: from a tenth of a second to a day. */
const DELAY_BUCKETS = [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 86400];
const ATTEMPT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * The engine's Prometheus metrics (prom-client, in a registry of its own: nothing global). Counts
 * are kept as things happen, in the engine only (listener workers report their connections and
 * messages to it); gauges (queue, certificates, workers) are read at each scrape. Names follow the
 * Prometheus conventions: `_total` counters, base units (seconds, bytes), labels for kinds.
 */
export class EngineMetrics implements DeliveryMetrics {
  readonly registry = new Registry();
  private readonly connections: Counter<'listener'>;
  private readonly received: Counter<'listener'>;
  private readonly receivedBytes: Counter<'listener'>;
  private readonly sent: Counter<'listener'>;
  private readonly recipients: Counter<'outcome'>;
  private readonly sessions: Counter<'tls'>;
  private readonly tlsFailures: Counter<'reason'>;
  private readonly dnssec: Counter<'result'>;
  private readonly attemptSeconds: Histogram;
  private readonly delaySeconds: Histogram<'outcome'>;

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    new Gauge({ name: 'mxgate_build_info', help: 'The running mxgate release (always 1).', labelNames: ['version'], registers }).set({ version: VERSION }, 1);
    this.connections = new Counter({ name: 'mxgate_smtp_connections_total', help: 'SMTP connections accepted, by listener (refused ones included: the mail log has an ICID for each).', labelNames: ['listener'], registers });
    this.received = new Counter({ name: 'mxgate_messages_received_total', help: 'Messages received and queued, by listener.', labelNames: ['listener'], registers });
    this.receivedBytes = new Counter({ name: 'mxgate_messages_received_bytes_total', help: 'Size of the messages received, by listener.', labelNames: ['listener'], registers });
    this.sent = new Counter({ name: 'mxgate_messages_finished_total', help: 'Messages that left the queue (every recipient delivered or bounced), by the listener that received them (bounce, alert, tlsrpt for generated mail).', labelNames: ['listener'], registers });
    this.recipients = new Counter({ name: 'mxgate_delivery_recipients_total', help: 'Delivery attempts per recipient by outcome: delivered, deferred (tried again later), bounced.', labelNames: ['outcome'], registers });
    this.sessions = new Counter({ name: 'mxgate_delivery_tls_total', help: 'Deliveries to a domain by how the session that carried them was protected: clear, tls (unverified), verified, dane, mta_sts; failed when no session carried them.', labelNames: ['tls'], registers });
    this.tlsFailures = new Counter({ name: 'mxgate_delivery_tls_failures_total', help: 'Sessions that carried nothing because of TLS, by reason (as tlsreport outbound shows them).', labelNames: ['reason'], registers });
    this.dnssec = new Counter({ name: 'mxgate_dnssec_lookups_total', help: 'DNS lookups whose DNSSEC status delivery used (MX, TLSA, MTA-STS), by result: secure, insecure, bogus.', labelNames: ['result'], registers });
    this.attemptSeconds = new Histogram({ name: 'mxgate_delivery_attempt_duration_seconds', help: 'Time one attempt at one destination domain took (DNS, connection, TLS, SMTP).', buckets: ATTEMPT_BUCKETS, registers });
    this.delaySeconds = new Histogram({ name: 'mxgate_delivery_delay_seconds', help: 'Time from reception to the final outcome of a recipient (delivered or bounced).', labelNames: ['outcome'], buckets: DELAY_BUCKETS, registers });

    new Gauge({
      name: 'mxgate_queue_messages',
      help: 'Messages in the queue.',
      registers,
      collect() {
        this.set(sources.queue().messages);
      },
    });
    new Gauge({
      name: 'mxgate_queue_bytes',
      help: 'Size of the messages in the queue.',
      registers,
      collect() {
        this.set(sources.queue().bytes);
      },
    });
    new Gauge({
      name: 'mxgate_queue_oldest_message_age_seconds',
      help: 'Age of the oldest message in the queue (0 when it is empty).',
      registers,
      collect() {
        const oldest = sources.oldestReceivedAt();
        this.set(oldest ? Math.max(0, (Date.now() - Date.parse(oldest)) / 1000) : 0);
      },
    });
    new Gauge({
      name: 'mxgate_certificate_expiry_seconds',
      help: 'Seconds until each certificate in use expires (negative once it has): profiles something presents, and their intermediates.',
      labelNames: ['profile', 'certificate'],
      registers,
      collect() {
        this.reset();
        for (const { profile, certificate, notAfter } of certificatesInUse(sources.config())) this.set({ profile, certificate }, Math.round((notAfter - Date.now()) / 1000));
      },
    });
    new Gauge({
      name: 'mxgate_listener_workers',
      help: 'Listener worker processes: wanted (listenerconfig setup) and running.',
      labelNames: ['state'],
      registers,
      collect() {
        const w = sources.workers();
        this.set({ state: 'wanted' }, w.wanted);
        this.set({ state: 'running' }, w.running);
      },
    });
    // Counts kept elsewhere, read at each scrape (reset and add: a counter has no set).
    new Counter({
      name: 'mxgate_listener_worker_exits_total',
      help: 'Listener workers that ended without being asked to (each is restarted).',
      registers,
      collect() {
        this.reset();
        this.inc(sources.workers().exits);
      },
    });
    if (sources.droppedLogLines) {
      const dropped = sources.droppedLogLines;
      new Counter({
        name: 'mxgate_log_push_dropped_lines_total',
        help: 'Log lines a syslog receiver did not get (it was down or too slow, and the buffer was full), by log.',
        labelNames: ['log'],
        registers,
        collect() {
          this.reset();
          for (const d of dropped()) this.inc({ log: d.log }, d.lines);
        },
      });
    }
  }

  /** A new SMTP connection (its ICID is in the mail log). */
  connected(listener: string): void {
    this.connections.inc({ listener });
  }

  /** A message is in the queue. */
  queued(envelope: { listener: string; size: number }): void {
    this.received.inc({ listener: envelope.listener });
    this.receivedBytes.inc({ listener: envelope.listener }, envelope.size);
  }

  attempt(tls: TlsOutcome, failures: readonly TlsFailureReason[], seconds: number): void {
    this.sessions.inc({ tls: tls.replace('-', '_') });
    for (const reason of failures) this.tlsFailures.inc({ reason });
    this.attemptSeconds.observe(seconds);
  }

  recipient(outcome: 'delivered' | 'deferred' | 'bounced', secondsSinceReceived: number): void {
    this.recipients.inc({ outcome });
    if (outcome !== 'deferred') this.delaySeconds.observe({ outcome }, Math.max(0, secondsSinceReceived));
  }

  finished(listener: string): void {
    this.sent.inc({ listener });
  }

  /** A DNS answer's DNSSEC status, as delivery used it. */
  readonly dnsLookup = (security: DnsSecurity): void => {
    this.dnssec.inc({ result: security });
  };

  /** The text exposition format. */
  async exposition(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}

/** Each certificate in use (leaf and intermediates of profiles something presents), with its expiry; parsed once per certificate. */
const parsed = new Map<string, number>();
function certificatesInUse(config: Config): { profile: string; certificate: string; notAfter: number }[] {
  const out: { profile: string; certificate: string; notAfter: number }[] = [];
  const notAfter = (pem: string): number | undefined => {
    if (!parsed.has(pem)) {
      try {
        parsed.set(pem, certInfo(pem).notAfter.getTime());
      } catch {
        return undefined;
      }
      if (parsed.size > 1000) parsed.delete(parsed.keys().next().value!);
    }
    return parsed.get(pem);
  };
  for (const p of config.certificates) {
    if (certificateUsers(config, p.name).length === 0) continue;
    [p.certificate, ...p.intermediates].forEach((pem, i) => {
      const at = notAfter(pem);
      if (at !== undefined) out.push({ profile: p.name, certificate: i === 0 ? 'leaf' : `intermediate ${i}`, notAfter: at });
    });
  }
  return out;
}
