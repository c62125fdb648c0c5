import { SERVER_SECURE_OPTIONS } from '../../pki/tlsServerOptions.js';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { type CompiledHat, compileHat, type EffectivePolicy } from '../../store/listeners/hat.js';
import type { Interface, Listener } from '../../store/schema.js';
import type { IdKind } from '../ids.js';
import type { MailLog } from '../log/mailLog.js';
import type { HostSlots } from './hostSlots.js';
import { applyDeadlines } from './deadlines.js';
import { acceptPaused, closeSessions, createSmtpServer, later, serverName, sessionCount, sessionHooks, setServerOptions, type SmtpServer, type SmtpSession } from './smtpServerAdapter.js';
import type { Envelope, MessageWriter } from '../queue/spool.js';
import { compileRecipientAccess } from './rcptAccess.js';
import { checkTag } from '../bounceTags.js';
import { INVALID_BOUNCE_HEADER, type InvalidBounceAction, type TaggingKey } from '../../store/bounces/verification.js';
import { unmappedAddress } from '../../store/grammar.js';
import { HEADER_SEARCH_BYTES, headerBlock } from './headerBlock.js';

export interface ListenerDeps {
  /** The mail log (in a listener worker: lines passed to the engine's). */
  log: Pick<MailLog, 'info' | 'warning' | 'critical' | 'healthy' | 'flush'>;
  spool: { receive(mid: number): Promise<MessageWriter> };
  /** MIDs and ICIDs (in a worker: leased from the engine's allocator, so numbers stay unique). */
  ids: { take(kind: IdKind): number | Promise<number> };
  /** Per-host connection counts, global across the engine and its workers. */
  hosts: HostSlots;
  hostname: () => string;
  /** Called when a message is in the queue (delivery looks at it at once; tlsreport inbound counts it). */
  queued?: (envelope: Envelope) => void;
  /** A new session has its ICID (the metrics count connections per listener; a worker tells the engine). */
  connected?: (listener: string) => void;
  /** A session's TLS failed: the handshake, or the client never started TLS that its policy required (tlsreport inbound). */
  tlsFailed?: (clientAddress: string, reason: 'handshake failed' | 'no STARTTLS') => void;
  /**
   * In the engine with listener workers: offered each new connection before it is served here;
   * true when it went to a worker (or was refused as over the listener's limit).
   */
  handOff?: (listener: SmtpListener, socket: Socket) => boolean;
  /** Every session's end, admitted or not (a worker reports its open sessions to the engine). */
  sessionEnded?: (listener: SmtpListener) => void;
  /** The client's host name (PTR, forward-confirmed or not), for host name sender groups. */
  reverse?: (ip: string) => Promise<{ host: string; verified: boolean } | undefined>;
  /** The queue's free-space reserve: below it MAIL gets 452 4.3.1. */
  storage?: { accepting(size?: number): boolean; exhausted(): boolean };
  /** The engine's session ticket key (rotated). */
  ticketKeys: { current: Buffer };
}

/** The command time limit of sessions that start while their listener is under load (MXGATE_UNDER_LOAD_COMMAND_SECONDS in tests). */
const underLoadCommandSeconds = (): number => Number(process.env.MXGATE_UNDER_LOAD_COMMAND_SECONDS) || 10;

/** The certificate (leaf + chain, PEM) and key a listener presents after STARTTLS. */
export interface TlsMaterial {
  profile: string;
  key: string;
  cert: string;
}

export interface ListenerState {
  listener: Listener;
  iface: Interface;
  tls?: TlsMaterial;
  /** sslconfig inbound --ciphers (OpenSSL list; TLS 1.3 suite names included). */
  ciphers: string;
  /** bvconfig: the keys that verify bounce address tags (none: bounce verification is not in use). */
  taggingKeys: TaggingKey[];
  /** bvconfig SETUP: a bounce that fails verification is refused, or taken with a header saying why. */
  invalidBounce: InvalidBounceAction;
}

/** Per-connection state kept beside smtp-server's session. */
interface Connection {
  icid: number;
  /** Clears the command, DATA and session deadlines (applyDeadlines). */
  stopDeadlines?: () => void;
  /** The message being received (DATA), so a closed connection removes its partial file. */
  receiving?: { stream: Readable; writer?: MessageWriter };
  hostKey: string;
  policy: EffectivePolicy;
  group: string;
  mid?: number;
  rcpts: number;
  /** The transaction's recipients as queued: a valid bounce verification tag is taken off. */
  to: string[];
  /** Recipients of a bounce that failed verification and were taken anyway (bvconfig SETUP header), with why. */
  invalidBounce?: string[];
  accepted: number;
  messages: number;
  secure: boolean;
  /**
   * The transaction asked for REQUIRETLS. Kept here, not read from smtp-server's envelope, which keeps
   * the flag of a refused MAIL FROM for the next one.
   */
  requireTls?: boolean;
  /** Its STARTTLS handshake failed (smtp-server can report one failure more than once). */
  tlsFailed?: boolean;
}

interface Access {
  hat: CompiledHat;
  recipientAllowed: (address: string) => boolean;
}

const compileAccess = (listener: Listener): Access => ({ hat: compileHat(listener.hat), recipientAllowed: compileRecipientAccess(listener.rcptAccess) });

/** Listeners are keyed by address and port (a commit that keeps both updates the listener in place). */
export const listenerKey = (ip: string, port: number): string => `${ip}|${port}`;

/** One TLS session context for every process that serves the listeners (see the server options). */
const SESSION_ID_CONTEXT = 'mxgate smtp';
const smtpError = (code: number, message: string) => Object.assign(new Error(message), { responseCode: code });
/** RFC 3207 §4: with TLS required, only these commands are answered before the handshake. */
const BEFORE_TLS = new Set(['NOOP', 'EHLO', 'STARTTLS', 'QUIT']);

/**
 * One SMTP listener bound to one address and port. Settings, HAT and certificate are read per
 * connection from `current`, so a commit that keeps the address updates the listener in place,
 * without a restart and without touching connections in progress.
 */
export class SmtpListener {
  readonly server: SmtpServer;
  private readonly connections = new Map<string, Connection>();
  /** Sessions that closed while their admission was still looking up the client's name. */
  private readonly gone = new Set<string>();
  /** The HAT and recipient access table of `current`, compiled (a client does not pay for their sizes). */
  private access: Access;

  constructor(
    public current: ListenerState,
    private readonly deps: ListenerDeps,
  ) {
    this.access = compileAccess(current.listener);
    this.server = createSmtpServer({
      name: current.iface.hostname ?? deps.hostname(),
      banner: 'mxgate',
      // EHLO/HELO reply: the host name alone, as Postfix and the appliance answer (not "Nice to meet you").
      heloResponse: '%s',
      size: this.largestMessageSize(),
      disabledCommands: ['AUTH'],
      authOptional: true,
      disableReverseLookup: true,
      logger: false,
      minVersion: 'TLSv1.2',
      ciphers: current.ciphers,
      honorCipherOrder: true,
      secureOptions: SERVER_SECURE_OPTIONS,
      ticketKeys: deps.ticketKeys.current,
      // smtp-server derives the default from process.argv, which differs between the engine and a
      // listener worker: a ticket issued by one would not resume in the other.
      sessionIdContext: SESSION_ID_CONTEXT,
      maxClients: current.listener.limits.maxConcurrency,
      ...(current.tls ? { key: current.tls.key, cert: current.tls.cert } : {}),
      onConnect: (session, cb) => this.onConnect(session, cb),
      onSecure: (socket, session, cb) => this.onSecure(socket as TLSSocket, session, cb),
      onMailFrom: (address, session, cb) => this.onMailFrom(address.address, address.args !== false && address.args.REQUIRETLS !== undefined, session, later(cb)),
      onRcptTo: (address, session, cb) => this.onRcptTo(address.address, session, later(cb)),
      onData: (stream, session, cb) => this.onData(stream, session, cb),
      onClose: (session) => this.onClose(session),
    });
    if (deps.handOff) this.offerConnections(deps.handOff);
    // A failing client socket or a bad ClientHello must never take the engine down.
    this.server.on('error', (err: Error) => {
      if ((err as { code?: string }).code !== 'TLSError') this.deps.log.warning(`Listener ${this.current.listener.name}: ${err.message}`);
    });
  }

  /** The engine's key for this listener: its address and port. */
  get key(): string {
    return listenerKey(this.current.iface.ip, this.current.listener.port);
  }

  get name(): string {
    return this.current.listener.name;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** The name the listener greets with. */
  get greetingName(): string {
    return serverName(this.server);
  }

  /** Say `code text` to every open session and close it (the end of a grace time). */
  closeSessions(code: number, text: string): void {
    closeSessions(this.server, code, text);
  }

  /** Sessions open in this process, admitted or not (smtp-server's own count). */
  get sessionCount(): number {
    return sessionCount(this.server);
  }

  /**
   * Serve a connection accepted elsewhere (a listener worker gets its sockets from the engine):
   * the path a connection accepted here takes.
   */
  serve(socket: Socket): void {
    this.server.server.emit('connection', socket);
  }

  /**
   * Each accepted connection is offered to `handOff` first. Sockets are accepted paused, so
   * nothing the client sends is read here before the socket moves to another process.
   */
  private offerConnections(handOff: (listener: SmtpListener, socket: Socket) => boolean): void {
    acceptPaused(this.server, (socket) => handOff(this, socket));
  }

  update(next: ListenerState): void {
    const certChanged = next.tls && (next.tls.key !== this.current.tls?.key || next.tls.cert !== this.current.tls?.cert || next.ciphers !== this.current.ciphers);
    this.current = next;
    this.access = compileAccess(next.listener);
    setServerOptions(this.server, { name: next.iface.hostname ?? this.deps.hostname(), maxClients: next.listener.limits.maxConcurrency, size: this.largestMessageSize() });
    // New connections get the new certificate; sessions already running keep theirs.
    if (certChanged) {
      this.server.updateSecureContext({ key: next.tls!.key, cert: next.tls!.cert, ciphers: next.ciphers, secureOptions: SERVER_SECURE_OPTIONS, ticketKeys: this.deps.ticketKeys.current, sessionIdContext: SESSION_ID_CONTEXT });
    }
  }

  /** A new session ticket key (rotation): new sessions get tickets under it, old tickets stop resuming. */
  setTicketKeys(key: Buffer): void {
    if (this.current.tls) this.server.updateSecureContext({ ticketKeys: key });
  }

  listen(): Promise<void> {
    const { iface, listener } = this.current;
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.server.once('error', onError);
      this.server.server.listen({ port: listener.port, host: iface.ip, backlog: listener.limits.tcpQueue }, () => {
        this.server.server.off('error', onError);
        resolve();
      });
    });
  }

  /** Stop accepting; connections in progress may finish (smtp-server closes them after 30 s). */
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** SIZE advertises the largest limit of any policy; each policy's own limit is checked at DATA. */
  private largestMessageSize(): number {
    const { hat } = this.current.listener;
    return Math.max(hat.defaults.maxMessageSize, ...hat.policies.map((p) => p.maxMessageSize ?? 0));
  }

  private onConnect(session: SmtpSession, cb: (err?: Error | null) => void): void {
    this.admit(session).then(
      () => cb(),
      (err: Error) => cb(err),
    );
  }

  private async admit(session: SmtpSession): Promise<void> {
    let icid: number;
    try {
      icid = await this.deps.ids.take('icid');
    } catch (err) {
      this.deps.log.critical(`Connection refused: ${(err as Error).message}`);
      throw smtpError(421, '4.3.2 System not accepting network messages, try again later');
    }
    const { iface, listener, tls } = this.current;
    const { hat } = this.access;
    const address = unmappedAddress(session.remoteAddress);
    // Host names are looked up only when a sender group names hosts.
    const name = hat.usesHostnames && this.deps.reverse ? await this.deps.reverse(address) : undefined;
    if (this.gone.delete(session.id)) throw smtpError(421, '4.4.2 Connection closed');
    this.deps.log.info(
      `New SMTP ICID ${icid} interface ${iface.name} (${iface.ip}) address ${address} reverse dns host ${name?.host ?? 'unknown'} verified ${name?.verified ? 'yes' : 'no'}`,
    );
    this.deps.connected?.(listener.name);
    // Mail that cannot be logged is not taken (the log is the record of what was accepted). A log in
    // trouble is tried again now, so space that has come back is used at once, not at its next retry.
    if (!this.deps.log.healthy) this.deps.log.flush();
    if (!this.deps.log.healthy || this.deps.storage?.exhausted()) throw smtpError(421, '4.3.2 System not accepting network messages, try again later');
    // Only a forward-confirmed name can put a host in a sender group (a PTR alone is the sender's say-so).
    const match = hat.classify(address, name?.verified ? name.host : undefined);
    if (!match || match.policy.action === 'reject') {
      this.deps.log.info(`ICID ${icid} REJECT SG ${match?.group ?? 'None'} match ${address} SBRS None`);
      this.deps.log.info(`ICID ${icid} close`);
      throw smtpError(554, `5.7.1 Access denied`);
    }
    const hostKey = `${iface.ip}|${listener.port}|${match.policy.name}|${address}`;
    const slot = await this.deps.hosts.acquire(hostKey, match.policy.maxConcurrency, listener.limits.maxConcurrency);
    if (slot === 'refused') {
      this.deps.log.info(`ICID ${icid} TCP REFUSAL SG ${match.group}: more than ${match.policy.maxConcurrency} concurrent connections from ${address} (policy $${match.policy.name})`);
      this.deps.log.info(`ICID ${icid} close`);
      throw smtpError(421, '4.7.0 Too many concurrent connections from your host, try again later');
    }
    if (this.gone.delete(session.id)) {
      // Closed while the slot was being counted (a worker asks the engine).
      this.deps.hosts.release(hostKey);
      this.deps.log.info(`ICID ${icid} close`);
      throw smtpError(421, '4.4.2 Connection closed');
    }
    this.connections.set(session.id, { icid, hostKey, policy: match.policy, group: match.group, rcpts: 0, to: [], accepted: 0, messages: 0, secure: false });
    this.deps.log.info(`ICID ${icid} ${match.policy.action === 'relay' ? 'RELAY' : 'ACCEPT'} SG ${match.group} match ${address} SBRS None`);

    const tlsOffered = match.policy.tls !== 'off' && tls !== undefined;
    // TLS off (or no certificate): STARTTLS is neither advertised nor accepted.
    session.disabledCommands = tlsOffered ? ['AUTH'] : ['AUTH', 'STARTTLS'];
    const conn = sessionHooks(this.server, session);
    if (conn) {
      // EHLO's SIZE, smtp-server's check of MAIL ... SIZE= (552 at once, RFC 1870) and the DATA
      // cut-off use this client's policy, not the largest of all policies.
      // REQUIRETLS (RFC 8689) is offered after STARTTLS unless this client's policy turns it off.
      conn.sessionOptions({ size: match.policy.maxMessageSize, hideREQUIRETLS: !match.policy.requireTls });
      conn.rewriteReplies(withEnhancedCodes);
      const limits = slot === 'under-load' ? { ...listener.limits, commandTimeout: Math.min(listener.limits.commandTimeout, underLoadCommandSeconds()) } : listener.limits;
      if (slot === 'under-load') this.deps.log.info(`ICID ${icid} listener ${listener.name} is under load: command time limit ${limits.commandTimeout} s for this session`);
      this.connections.get(session.id)!.stopDeadlines = applyDeadlines(conn, limits, (what) => this.deps.log.info(`ICID ${icid} ${address} exceeded the ${what}; closing with 421`));
      conn.onTlsFailure((err) => {
        const c = this.connections.get(session.id);
        if (c && !c.secure && !c.tlsFailed) {
          c.tlsFailed = true;
          this.deps.log.info(`ICID ${c.icid} TLS failed: ${err.message}`);
          this.deps.tlsFailed?.(address, 'handshake failed');
        }
      });
      // RFC 3207: until the handshake, every command but NOOP, EHLO, STARTTLS and QUIT gets 530.
      if (match.policy.tls === 'required') conn.refuseUntilTls(BEFORE_TLS, 530, '5.7.0 Must issue a STARTTLS command first');
    }
  }

  private onSecure(socket: TLSSocket, session: SmtpSession, cb: (err?: Error | null) => void): void {
    const c = this.connections.get(session.id);
    if (c) {
      c.secure = true;
      this.deps.log.info(`ICID ${c.icid} TLS success protocol ${socket.getProtocol()} cipher ${socket.getCipher().standardName}`);
    }
    cb();
  }

  private onMailFrom(from: string, requireTls: boolean, session: SmtpSession, cb: (err?: Error | null) => void): void {
    this.startTransaction(from, requireTls, session).then(
      () => cb(),
      (err: Error) => cb(err),
    );
  }

  private async startTransaction(from: string, requireTls: boolean, session: SmtpSession): Promise<void> {
    const conn = this.connections.get(session.id)!;
    if (conn.policy.tls === 'required' && !session.secure) throw smtpError(530, '5.7.0 Must issue a STARTTLS command first');
    // Not offered in EHLO (smtp-server checks only that TLS is in force): an unknown parameter (RFC 5321 §4.1.1.11).
    if (requireTls && !conn.policy.requireTls) throw smtpError(555, '5.5.4 MAIL FROM parameter REQUIRETLS is not offered here');
    if (conn.messages >= conn.policy.maxMessagesPerConnection) {
      throw smtpError(452, `4.5.3 Too many messages in this session (limit ${conn.policy.maxMessagesPerConnection}); reconnect`);
    }
    if (this.deps.storage && !this.deps.storage.accepting()) {
      this.deps.log.warning(`ICID ${conn.icid} MAIL refused: the queue's file system is below its free-space reserve`);
      throw smtpError(452, '4.3.1 Insufficient system storage, try again later');
    }
    this.abandon(conn, 'Receiving aborted by sender');
    try {
      conn.mid = await this.deps.ids.take('mid');
    } catch (err) {
      this.deps.log.critical(`ICID ${conn.icid} MAIL refused: ${(err as Error).message}`);
      throw smtpError(452, '4.3.1 Insufficient system storage, try again later');
    }
    conn.rcpts = 0;
    conn.to = [];
    conn.invalidBounce = undefined;
    conn.requireTls = requireTls;
    this.deps.log.info(`Start MID ${conn.mid} ICID ${conn.icid}`);
    this.deps.log.info(`MID ${conn.mid} ICID ${conn.icid} From: <${from}>${requireTls ? ' REQUIRETLS' : ''}`);
  }

  private onRcptTo(to: string, session: SmtpSession, cb: (err?: Error | null) => void): void {
    const conn = this.connections.get(session.id)!;
    if (conn.rcpts >= conn.policy.maxRecipientsPerMessage) {
      return cb(smtpError(452, `4.5.3 Too many recipients (limit ${conn.policy.maxRecipientsPerMessage})`));
    }
    const verified = this.bounceVerification(conn, to, !session.envelope.mailFrom || session.envelope.mailFrom.address === '');
    if ('refused' in verified && this.current.invalidBounce === 'reject') {
      this.deps.log.info(`MID ${conn.mid} ICID ${conn.icid} RID ${conn.rcpts} To: <${to}> Rejected by bounce verification: ${verified.refused}`);
      return cb(smtpError(550, `5.7.1 ${verified.refused}`));
    }
    // Taken anyway (SETUP "header"): to the address without its tag, as a valid one would be.
    const address = verified.address;
    if (conn.policy.action !== 'relay' && !this.access.recipientAllowed(address)) {
      this.deps.log.info(`MID ${conn.mid} ICID ${conn.icid} RID ${conn.rcpts} To: <${to}> Rejected by RAT`);
      return cb(smtpError(550, '5.7.1 Recipient address rejected: relaying denied'));
    }
    conn.to.push(address);
    let note = address !== to ? ' (bounce verification tag valid)' : '';
    if ('refused' in verified) {
      (conn.invalidBounce ??= []).push(`<${to}>: ${verified.refused}`);
      note = ` (bounce verification failed: ${verified.refused}; taken with a ${INVALID_BOUNCE_HEADER} header)`;
    }
    this.deps.log.info(`MID ${conn.mid} ICID ${conn.icid} RID ${conn.rcpts++} To: <${address}>${note}`);
    cb();
  }

  /**
   * Bounce verification (bvconfig) for one recipient: a valid tag is taken off; a bounce (null
   * sender) to an address with a tag that does not verify is refused, and one to an untagged address
   * too where the mail flow policy does not accept untagged bounces (only while keys exist: without
   * them nothing was tagged); a refusal carries the address to use if it is taken all the same. Mail
   * with a sender keeps an invalid tag: it is no bounce of ours.
   */
  private bounceVerification(conn: Connection, to: string, bounce: boolean): { address: string } | { refused: string; address: string } {
    const keys = this.current.taggingKeys;
    if (keys.length === 0) return { address: to };
    const check = checkTag(to, keys);
    if (check.tag === 'valid') return { address: check.address };
    if (!bounce) return { address: to };
    if (check.tag === 'invalid') return { refused: `Bounce verification failed: the address tag is ${check.why}`, address: check.address };
    return conn.policy.acceptUntaggedBounces ? { address: to } : { refused: 'Untagged bounces are not accepted here', address: to };
  }

  private onData(stream: Readable, session: SmtpSession, cb: (err?: Error | null, message?: string) => void): void {
    const conn = this.connections.get(session.id)!;
    this.receiveMessage(stream, session, conn).then(
      (reply) => cb(null, reply),
      (err: Error) => cb(err),
    );
  }

  /**
   * The message goes to a file in the queue while it arrives (memory does not grow with its size);
   * it is queued, and gets its 250, only once it is on disk with its envelope. Too big: 552, the file
   * is removed. A disk error: 452 4.3.1 for a full disk, else 451 4.3.0, never the error text.
   */
  private async receiveMessage(stream: Readable, session: SmtpSession, conn: Connection): Promise<string> {
    const mid = conn.mid!;
    const max = conn.policy.maxMessageSize;
    // bvconfig SETUP "header": a bounce that failed verification says so above its Received line.
    const flagged = conn.invalidBounce?.map((why) => `${INVALID_BOUNCE_HEADER}: failed; ${why.replace(/[\r\n]/g, ' ')}\r\n`).join('') ?? '';
    const header = Buffer.from(flagged + this.receivedHeader(session, mid));
    let writer: MessageWriter | undefined;
    let failure: NodeJS.ErrnoException | undefined;
    try {
      writer = await this.deps.spool.receive(mid);
      await writer.write(header);
    } catch (err) {
      failure = err as NodeJS.ErrnoException;
    }
    conn.receiving = { stream, ...(writer ? { writer } : {}) };
    let size = 0;
    const head: Buffer[] = [];
    let headBytes = 0;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (headBytes < HEADER_SEARCH_BYTES) {
          head.push(chunk);
          headBytes += chunk.length;
        }
        if (failure || size > max) continue; // read to the end, keep nothing
        try {
          await writer!.write(chunk);
        } catch (err) {
          failure = err as NodeJS.ErrnoException;
        }
      }
    } catch (err) {
      failure ??= err as NodeJS.ErrnoException; // the connection went away mid-message
    } finally {
      conn.receiving = undefined;
    }
    if ((stream as Readable & { sizeExceeded?: boolean }).sizeExceeded || size > max) {
      await writer?.abort();
      this.abandon(conn, 'Message size exceeds the limit');
      throw smtpError(552, `5.3.4 Message size exceeds fixed maximum message size (${max} bytes)`);
    }
    const headers = headerBlock(head);
    const requireTls = conn.requireTls === true;
    const tlsOptional = !requireTls && tlsRequiredNo(headers);
    // RFC 8689 §5: "TLS-Required: No" asks delivery to ignore TLS requirements. Only our own users may
    // ask that (a relay host): from anyone else it would lower the protection the administrator set.
    if (tlsOptional && conn.policy.action !== 'relay') this.deps.log.info(`MID ${mid} TLS-Required: No header ignored: the sender is not a relay host`);
    const envelope = {
      mid,
      icid: conn.icid,
      listener: this.current.listener.name,
      clientAddress: unmappedAddress(session.remoteAddress),
      helo: session.hostNameAppearsAs,
      from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
      to: conn.to,
      size: header.length + size,
      receivedAt: new Date().toISOString(),
      state: 'queued' as const,
      attempts: 0,
      ...(session.secure ? { receivedOverTls: true } : {}),
      ...(requireTls ? { requireTls: true } : {}),
      ...(tlsOptional && conn.policy.action === 'relay' ? { tlsOptional: true } : {}),
    };
    if (!failure) {
      try {
        await writer!.commit(envelope);
      } catch (err) {
        failure = err as NodeJS.ErrnoException;
      }
    }
    if (failure) {
      await writer?.abort();
      this.abandon(conn, `queue write failed: ${failure.message}`);
      this.deps.log.critical(`MID ${mid} could not be written to the queue: ${failure.message}`);
      // Never the error text, never a 5xx: the sender keeps the message and retries.
      throw failure.code === 'ENOSPC' || failure.code === 'EDQUOT' ? smtpError(452, '4.3.1 Insufficient system storage, try again later') : smtpError(451, '4.3.0 Local error: message not queued, try again later');
    }
    conn.mid = undefined;
    conn.messages += 1;
    conn.accepted += envelope.to.length;
    const messageId = /^message-id:\s*(.+)$/im.exec(headers)?.[1]?.trim();
    if (messageId) this.deps.log.info(`MID ${mid} Message-ID '${messageId}'`);
    this.deps.log.info(`MID ${mid} ready ${envelope.size} bytes from <${envelope.from}>`);
    this.deps.log.info(`MID ${mid} queued for delivery`);
    this.deps.queued?.({ ...envelope, size: writer!.bytes });
    return `Ok: Message MID ${mid} accepted`;
  }

  private onClose(session: SmtpSession): void {
    this.deps.sessionEnded?.(this);
    const conn = this.connections.get(session.id);
    conn?.stopDeadlines?.();
    if (!conn) {
      // Closed before admission finished (name lookup in progress): admission must not count it.
      this.gone.add(session.id);
      setTimeout(() => this.gone.delete(session.id), 10_000).unref();
      return;
    }
    // A message in transfer: its stream ends the receiving loop, which removes the partial file.
    conn.receiving?.stream.destroy();
    this.abandon(conn, 'Receiving aborted: connection closed');
    if (conn.policy.tls === 'required' && !conn.secure && conn.accepted === 0) {
      this.deps.log.info(`ICID ${conn.icid} TLS was required but remote host did not initiate it`);
      this.deps.tlsFailed?.(unmappedAddress(session.remoteAddress), 'no STARTTLS');
    }
    this.deps.log.info(`ICID ${conn.icid} close`);
    this.connections.delete(session.id);
    this.deps.hosts.release(conn.hostKey);
  }

  /** A transaction that started (MAIL FROM) but did not end in the queue. */
  private abandon(conn: Connection, why: string): void {
    if (conn.mid === undefined) return;
    this.deps.log.info(`Message aborted MID ${conn.mid} ${why}`);
    conn.mid = undefined;
  }

  private receivedHeader(session: SmtpSession, mid: number): string {
    const helo = session.hostNameAppearsAs || 'unknown';
    const by = serverName(this.server);
    const tls = session.secure ? ' with ESMTPS' : ' with ESMTP';
    const address = unmappedAddress(session.remoteAddress);
    // RFC 5321 §4.1.3: an IPv6 address literal is tagged "IPv6:".
    const literal = address.includes(':') ? `IPv6:${address}` : address;
    return `Received: from ${helo} ([${literal}])\r\n  by ${by}${tls} id MID ${mid};\r\n  ${new Date().toUTCString()}\r\n`;
  }
}

/**
 * smtp-server's enhanced status codes are off: the replies mxgate relies on get theirs (RFC 3463).
 * 552 for SIZE= is 5.3.4; REQUIRETLS before STARTTLS is 5.7.10, encryption needed (RFC 5248).
 */
function withEnhancedCodes(code: number, text: string): string {
  if (code === 552 && text.startsWith('Error: message exceeds')) return `5.3.4 ${text.slice(7)}`;
  if (code === 530 && text.startsWith('REQUIRETLS not permitted')) return '5.7.10 REQUIRETLS needs TLS: issue STARTTLS first';
  return text;
}

/** Does the header block carry "TLS-Required: No" (RFC 8689 §5)? */
function tlsRequiredNo(headers: string): boolean {
  return /^tls-required:[ \t]*no[ \t]*$/im.test(headers);
}
