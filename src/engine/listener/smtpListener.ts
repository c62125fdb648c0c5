import type { Readable } from 'node:stream';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import type { Interface, Listener } from '../../store/schema.js';
import type { IdAllocator } from '../ids.js';
import type { MailLog } from '../log/mailLog.js';
import type { Spool } from '../queue/spool.js';

/** AsyncOS's default maximum message size (10 MB); per-policy sizes come with the HAT. */
export const DEFAULT_MAX_MESSAGE_SIZE = 10 * 1024 * 1024;

export interface ListenerDeps {
  log: MailLog;
  spool: Spool;
  ids: IdAllocator;
  hostname: () => string;
}

/** Per-connection state kept beside smtp-server's session. */
interface Connection {
  icid: number;
  mid?: number;
  rcpts: number;
}

const smtpError = (code: number, message: string) => Object.assign(new Error(message), { responseCode: code });
const plainAddress = (a: string) => a.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');

/**
 * One SMTP listener bound to one address and port. The listener's settings are read per
 * connection from `current`, so a commit that keeps the address updates it in place, without a
 * restart and without touching connections in progress.
 */
export class SmtpListener {
  readonly server: SMTPServer;
  private readonly connections = new Map<string, Connection>();

  constructor(
    public current: { listener: Listener; iface: Interface },
    private readonly deps: ListenerDeps,
  ) {
    this.server = new SMTPServer({
      name: current.iface.hostname ?? deps.hostname(),
      banner: 'mxgate',
      size: DEFAULT_MAX_MESSAGE_SIZE,
      // No TLS until the inbound TLS work: refuse the command itself, not only its advertisement
      // (hideSTARTTLS would still answer with smtp-server's built-in certificate).
      disabledCommands: ['STARTTLS', 'AUTH'],
      authOptional: true,
      disableReverseLookup: true,
      logger: false,
      onConnect: (session, cb) => this.onConnect(session, cb),
      onMailFrom: (address, session, cb) => this.onMailFrom(address.address, session, cb),
      onRcptTo: (address, session, cb) => this.onRcptTo(address.address, session, cb),
      onData: (stream, session, cb) => this.onData(stream, session, cb),
      onClose: (session) => this.onClose(session),
    });
    // A failing client socket must never take the engine down.
    this.server.on('error', (err: Error) => deps.log.warning(`Listener ${this.current.listener.name}: ${err.message}`));
  }

  get name(): string {
    return this.current.listener.name;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  update(current: { listener: Listener; iface: Interface }): void {
    this.current = current;
    this.server.options.name = current.iface.hostname ?? this.deps.hostname();
  }

  listen(): Promise<void> {
    const { iface, listener } = this.current;
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.server.once('error', onError);
      this.server.listen(listener.port, iface.ip, () => {
        this.server.server.off('error', onError);
        resolve();
      });
    });
  }

  /** Stop accepting; connections in progress may finish (smtp-server closes them after 30 s). */
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private onConnect(session: SMTPServerSession, cb: (err?: Error | null) => void): void {
    const icid = this.deps.ids.take('icid');
    this.connections.set(session.id, { icid, rcpts: 0 });
    const { iface } = this.current;
    this.deps.log.info(
      `New SMTP ICID ${icid} interface ${iface.name} (${iface.ip}) address ${plainAddress(session.remoteAddress)} reverse dns host unknown verified no`,
    );
    cb();
  }

  private onMailFrom(from: string, session: SMTPServerSession, cb: (err?: Error | null) => void): void {
    const conn = this.connections.get(session.id)!;
    this.abandon(conn, 'Receiving aborted by sender');
    conn.mid = this.deps.ids.take('mid');
    conn.rcpts = 0;
    this.deps.log.info(`Start MID ${conn.mid} ICID ${conn.icid}`);
    this.deps.log.info(`MID ${conn.mid} ICID ${conn.icid} From: <${from}>`);
    cb();
  }

  private onRcptTo(to: string, session: SMTPServerSession, cb: (err?: Error | null) => void): void {
    const conn = this.connections.get(session.id)!;
    this.deps.log.info(`MID ${conn.mid} ICID ${conn.icid} RID ${conn.rcpts++} To: <${to}>`);
    cb();
  }

  private onData(stream: Readable, session: SMTPServerSession, cb: (err?: Error | null, message?: string) => void): void {
    const conn = this.connections.get(session.id)!;
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const mid = conn.mid!;
      if ((stream as Readable & { sizeExceeded?: boolean }).sizeExceeded) {
        this.abandon(conn, 'Message size exceeds the limit');
        return cb(smtpError(552, '5.3.4 Message size exceeds fixed maximum message size'));
      }
      const body = Buffer.concat(chunks);
      const message = Buffer.concat([Buffer.from(this.receivedHeader(session, mid)), body]);
      const envelope = {
        mid,
        icid: conn.icid,
        listener: this.current.listener.name,
        clientAddress: plainAddress(session.remoteAddress),
        helo: session.hostNameAppearsAs,
        from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
        to: session.envelope.rcptTo.map((r) => r.address),
        size: message.length,
        receivedAt: new Date().toISOString(),
        state: 'queued' as const,
        attempts: 0,
      };
      this.deps.spool.enqueue(envelope, message).then(
        () => {
          conn.mid = undefined;
          const messageId = /^message-id:\s*(.+)$/im.exec(headerBlock(body))?.[1]?.trim();
          if (messageId) this.deps.log.info(`MID ${mid} Message-ID '${messageId}'`);
          this.deps.log.info(`MID ${mid} ready ${message.length} bytes from <${envelope.from}>`);
          this.deps.log.info(`MID ${mid} queued for delivery`);
          cb(null, `Ok: Message MID ${mid} accepted`);
        },
        (err: Error) => {
          this.abandon(conn, `queue write failed: ${err.message}`);
          this.deps.log.critical(`MID ${mid} could not be written to the queue: ${err.message}`);
          cb(smtpError(451, '4.3.0 Local error: message not queued, try again later'));
        },
      );
    });
  }

  private onClose(session: SMTPServerSession): void {
    const conn = this.connections.get(session.id);
    if (!conn) return;
    this.abandon(conn, 'Receiving aborted: connection closed');
    this.deps.log.info(`ICID ${conn.icid} close`);
    this.connections.delete(session.id);
  }

  /** A transaction that started (MAIL FROM) but did not end in the queue. */
  private abandon(conn: Connection, why: string): void {
    if (conn.mid === undefined) return;
    this.deps.log.info(`Message aborted MID ${conn.mid} ${why}`);
    conn.mid = undefined;
  }

  private receivedHeader(session: SMTPServerSession, mid: number): string {
    const helo = session.hostNameAppearsAs || 'unknown';
    const by = this.server.options.name;
    return `Received: from ${helo} ([${plainAddress(session.remoteAddress)}])\r\n  by ${by} with ESMTP id MID ${mid};\r\n  ${new Date().toUTCString()}\r\n`;
  }
}

function headerBlock(body: Buffer): string {
  const text = body.subarray(0, 64 * 1024).toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  return end < 0 ? text : text.slice(0, end);
}
