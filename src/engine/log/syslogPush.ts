import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import type { SyslogTarget } from '../../store/logs/syslogTarget.js';
import { hostPortText } from '../../store/network/routing.js';
import type { LogLevel } from './mailLog.js';

/** Lines (and bytes) kept for a receiver that is down or slow; past either, new lines are dropped and counted. */
const BUFFER_LINES = 10_000;
const BUFFER_BYTES = 8 * 1024 * 1024;
/** RFC 5426: a receiver takes datagrams of 2048 octets; a longer line is cut. */
const UDP_MAX = 2048;
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30_000;

/** RFC 5424 severities of the log levels; the facility is mail (2) for the mail log, authpriv (10) for the audit logs. */
const SEVERITY: Record<LogLevel, number> = { Critical: 2, Warning: 4, Info: 6, Debug: 7, Trace: 7 };

export interface SyslogSenderOptions {
  /** The HOSTNAME field (the appliance's host name). */
  hostname: string;
  /** The MSGID field: which log (mail_logs, cli_logs, gui_logs). */
  log: string;
  facility: number;
  /** tcp+tls: the CA certificates the receiver's certificate must chain to (the trusted CA lists). */
  ca?: string[];
  /** Told when the receiver cannot be reached or its TLS fails (once per outage), and when it is back. */
  report: (level: 'Info' | 'Warning', text: string) => void;
  now?: () => Date;
  /** The buffer's bound in lines (BUFFER_LINES). */
  bufferLines?: number;
}

/**
 * Pushes one log's lines to one syslog receiver, as RFC 5424 messages: over TCP or TLS with
 * octet-counting framing (RFC 6587 / RFC 5425), or UDP datagrams (RFC 5426). Writing never waits
 * for the receiver: lines wait in a bounded buffer while it is down or slow, in order, and go out
 * when it is back; past the bound new lines are dropped and counted, and the receiver is told how
 * many with the next line it gets. A connection is tried again after 1 s, doubling to 30 s. A TLS
 * receiver must present a certificate for its host name (or IP address) from the trusted CA lists.
 */
export class SyslogSender {
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private socket: net.Socket | undefined;
  private udp: dgram.Socket | undefined;
  private ready = false;
  private waitingForDrain = false;
  private retryMs = RETRY_FIRST_MS;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Dropped since the receiver was last told; dropped in all. */
  private unreported = 0;
  droppedTotal = 0;
  /** Why the receiver cannot be reached (said once per outage). */
  private trouble: string | undefined;

  constructor(
    readonly target: SyslogTarget,
    private readonly options: SyslogSenderOptions,
  ) {
    this.connect();
  }

  get url(): string {
    return `${this.target.transport}://${hostPortText(this.target)}`;
  }

  /** Whether lines go out now, why not, how many wait. */
  state(): { connected: boolean; problem?: string; waiting: number; dropped: number } {
    return { connected: this.ready && !this.trouble, ...(this.trouble ? { problem: this.trouble } : {}), waiting: this.queue.length, dropped: this.droppedTotal };
  }

  send(level: LogLevel, text: string): void {
    if (this.closed) return;
    const frame = this.frame(SEVERITY[level], `${level}: ${text}`);
    if (this.queue.length >= (this.options.bufferLines ?? BUFFER_LINES) || this.queuedBytes + frame.length > BUFFER_BYTES) {
      this.unreported += 1;
      this.droppedTotal += 1;
      return;
    }
    this.queue.push(frame);
    this.queuedBytes += frame.length;
    this.pump();
  }

  /** Stop: what is buffered is written if the receiver is connected, then the connection ends. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.socket) {
      this.pump();
      this.socket.end();
      this.socket.unref();
    }
    this.udp?.close();
  }

  /** One RFC 5424 message; for TCP and TLS with its octet count in front. */
  private frame(severity: number, text: string): Buffer {
    const pri = this.options.facility * 8 + severity;
    const time = (this.options.now?.() ?? new Date()).toISOString();
    let msg = Buffer.from(`<${pri}>1 ${time} ${this.options.hostname} mxgate ${process.pid} ${this.options.log} - ${text}`);
    if (this.target.transport === 'udp') {
      if (msg.length > UDP_MAX) msg = msg.subarray(0, UDP_MAX);
      return msg;
    }
    return Buffer.concat([Buffer.from(`${msg.length} `), msg]);
  }

  private connect(): void {
    if (this.closed) return;
    const { transport, host, port } = this.target;
    if (transport === 'udp') {
      const udp = dgram.createSocket(net.isIP(host) === 6 ? 'udp6' : 'udp4');
      udp.on('error', (err) => this.failed(err.message));
      udp.unref();
      this.udp = udp;
      this.ready = true;
      return;
    }
    const socket =
      transport === 'tcp+tls'
        ? tls.connect({ host, port, ca: this.options.ca ?? [], ...(net.isIP(host) ? {} : { servername: host }), minVersion: 'TLSv1.2' })
        : net.connect({ host, port });
    this.socket = socket;
    socket.setKeepAlive(true, 60_000);
    socket.on(transport === 'tcp+tls' ? 'secureConnect' : 'connect', () => {
      this.ready = true;
      this.retryMs = RETRY_FIRST_MS;
      if (this.trouble) this.options.report('Info', `Syslog push of ${this.options.log} to ${this.url}: the receiver is reachable again`);
      this.trouble = undefined;
      this.pump();
    });
    socket.on('drain', () => {
      this.waitingForDrain = false;
      this.pump();
    });
    // A receiver says nothing back; what it sends is read and ignored so the socket never stalls.
    socket.on('data', () => undefined);
    socket.on('error', (err) => this.failed(err.message));
    socket.on('close', () => {
      this.ready = false;
      this.waitingForDrain = false;
      if (this.socket !== socket || this.closed) return;
      this.socket = undefined;
      this.failed(this.trouble ?? 'the connection was closed');
      this.timer = setTimeout(() => this.connect(), this.retryMs);
      this.timer.unref();
      this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
    });
  }

  private failed(why: string): void {
    if (this.trouble || this.closed) return;
    this.trouble = why;
    this.options.report('Warning', `Syslog push of ${this.options.log} to ${this.url} failed: ${why}; lines wait (up to ${this.options.bufferLines ?? BUFFER_LINES}) and are sent when it is back`);
  }

  /** Send what is buffered, in order, while the connection takes it. */
  private pump(): void {
    if (!this.ready || this.waitingForDrain) return;
    if (this.unreported) {
      const note = this.frame(SEVERITY.Warning, `Warning: ${this.unreported} ${this.options.log} line(s) were dropped while this receiver could not take them`);
      this.unreported = 0;
      this.queue.unshift(note);
      this.queuedBytes += note.length;
    }
    while (this.queue.length && !this.waitingForDrain) {
      const frame = this.queue.shift()!;
      this.queuedBytes -= frame.length;
      if (this.udp) this.udp.send(frame, this.target.port, this.target.host);
      else if (!this.socket!.write(frame)) this.waitingForDrain = true;
    }
  }
}
