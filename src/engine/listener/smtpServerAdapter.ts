import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { type DataParser, feedDataStream } from './dataTerminator.js';

/**
 * The one module that knows smtp-server beyond its documented options and callbacks. Every hook
 * mxgate needs (the greeting without smtp-server's 100 ms pause, per-connection message size and REQUIRETLS,
 * command and transfer deadlines, the RFC 3207 gate before STARTTLS, TLS failures, sockets
 * accepted paused for the listener workers, the pipelining fix, session ids without random bytes, the DATA scan by search) is a function here, written
 * against the single description of smtp-server's internals below; each has its own test in
 * test/unit/smtp-server-internals.test.ts, which fails if an upgrade changes what it relies on.
 */

/** smtp-server 3.21.6's connection internals mxgate relies on. */
interface ConnectionInternals {
  session: SMTPServerSession;
  name: string;
  secure: boolean;
  /** Set while STARTTLS's handshake runs. */
  _upgrading?: boolean;
  /** The server the connection reads its options from (SIZE, hideREQUIRETLS, maxClients). */
  _server: { options: object };
  /** The command parser: in data mode while a message is transferred. */
  _parser?: DataParser & { _dataMode?: boolean; _feedDataStream: typeof feedDataStream };
  /** Makes the parser: in the constructor, and again for the TLS socket after STARTTLS. */
  _createParser(): NonNullable<ConnectionInternals['_parser']>;
  send(code: number, text: string, multiline?: boolean): void;
  close(): void;
  /** Called with each complete command line. */
  _onCommand(command: Buffer, callback: () => void): void;
  /** The handler of a command verb (undefined for an unknown one). */
  _getHandler(command: string): ((command: string, callback: () => void) => void) | undefined;
  _setListeners(ready: () => void): void;
  connectionReady(): void;
  on(event: 'error', listener: (err: Error) => void): void;
  on(event: 'connect', listener: (data: unknown) => void): void;
}

/** smtp-server 3.21.6's server internals mxgate relies on. */
interface ServerInternals {
  connections: Set<ConnectionInternals>;
  options: { name?: string; maxClients?: number; size?: number };
  _onError(err: Error): void;
  _onClientConnect(data: unknown): void;
  connect(socket: Socket, socketOptions: unknown): void;
  /**
   * Called with each accepted socket before a connection is made: reads a PROXY header when the
   * options ask for one, and hands back the connection's options (its session id) on a later turn.
   */
  _handleProxy(socket: Socket, callback: (err: Error | null, socketOptions: { id: string }) => void): void;
  /** The SNI callback of every TLS socket the server makes (STARTTLS): name → secure context. */
  _resolveSNI(servername: string, cb: (err: Error | null, context: SecureContext | null) => void): void;
}

export type { SMTPServer as SmtpServer, SMTPServerSession as SmtpSession } from 'smtp-server';

const internals = (server: SMTPServer) => server as unknown as ServerInternals;

/** Each session's connection, so that sessionHooks finds it without a scan of every open connection. */
const connectionOf = new WeakMap<SMTPServerSession, ConnectionInternals>();

/**
 * An SMTP server that greets at once. smtp-server waits a fixed 100 ms before every banner to
 * catch clients that talk first; that pause was most of the time a new session took (a banner
 * after 100 ms, the rest of a STARTTLS session in 6 ms), and Postfix's smtpd does not make it.
 * The client still cannot talk before the banner: input before it is refused, as before ("You
 * talk too soon"). This is smtp-server's own connect() and init(), without the timer.
 */
export function createSmtpServer(options: SMTPServerOptions): SMTPServer {
  const server = new SMTPServer(options);
  const s = internals(server);
  // One certificate per listener: the context a STARTTLS socket is made with is the one it keeps.
  // smtp-server's own callback would normalize the name (punycode), look it up, and hand back that
  // same context, which OpenSSL then installs on the socket a second time; no context means "keep it".
  s._resolveSNI = (_servername, cb) => cb(null, null);
  // Session ids: smtp-server draws 10 random bytes per connection and formats them through a BigInt
  // (about 1 % of a STARTTLS session's CPU); the listener only needs them as keys among its own open
  // sessions, so a counter does. mxgate sets neither useProxy nor ignoredHosts, which the original handles.
  let sessions = 0;
  s._handleProxy = (_socket, callback) => {
    sessions += 1;
    setImmediate(callback, null, { id: sessions.toString(36) });
  };
  s.connect = (socket, socketOptions) => {
    const connection = new SMTPConnection(server, socket, socketOptions as never) as unknown as ConnectionInternals;
    scanDataFaster(connection);
    connectionOf.set(connection.session, connection);
    s.connections.add(connection);
    connection.on('error', (err: Error) => s._onError(err));
    connection.on('connect', (data: unknown) => s._onClientConnect(data));
    connection._setListeners(() => {
      if (s.options.maxClients && s.connections.size > s.options.maxClients) {
        connection.send(421, `${connection.name} Too many connected clients, try again in a moment`, false);
        return;
      }
      connection.connectionReady();
    });
  };
  return server;
}

/** The connection's parsers, this one and the one after STARTTLS, find the end of DATA with dataTerminator.ts. */
function scanDataFaster(connection: ConnectionInternals): void {
  const faster = (parser: NonNullable<ConnectionInternals['_parser']>) => {
    parser._feedDataStream = feedDataStream;
    return parser;
  };
  if (connection._parser) faster(connection._parser);
  const createParser = connection._createParser.bind(connection);
  connection._createParser = () => faster(createParser());
}

/** Settings a commit changes on a running server; new sessions see them. */
export function setServerOptions(server: SMTPServer, options: { name: string; maxClients: number; size: number }): void {
  Object.assign(internals(server).options, options);
}

/** The name the server greets with. */
export function serverName(server: SMTPServer): string {
  return String(internals(server).options.name);
}

/** Sessions open on the server, admitted or not. */
export function sessionCount(server: SMTPServer): number {
  return internals(server).connections.size;
}

/** Every open session: say `code text` and close it (a worker's grace time ended). */
export function closeSessions(server: SMTPServer, code: number, text: string): number {
  let n = 0;
  for (const c of internals(server).connections) {
    c.send(code, text);
    c.close();
    n += 1;
  }
  return n;
}

/**
 * Accept sockets paused and offer each to `handOff` first (the listener workers): nothing the
 * client sends is read here before the socket moves to another process. Not taken: served here.
 */
export function acceptPaused(server: SMTPServer, handOff: (socket: Socket) => boolean): void {
  const net = server.server;
  const serveHere = net.listeners('connection')[0] as (socket: Socket) => void;
  net.removeAllListeners('connection');
  (net as unknown as { pauseOnConnect: boolean }).pauseOnConnect = true;
  net.on('connection', (socket: Socket) => {
    if (!handOff(socket)) serveHere(socket);
  });
}

/**
 * smtp-server 3.21.6 stops answering when several transactions arrive in one write (RFC 2920
 * pipelining) and the MAIL/RCPT handlers call back synchronously: the third transaction is never
 * read (test/e2e/pipelining.test.ts; reproduced with a bare SMTPServer). Calling back on the next
 * turn of the event loop avoids it and is what any asynchronous handler does anyway.
 */
export const later =
  (cb: (err?: Error | null) => void) =>
  (err?: Error | null): void =>
    void setImmediate(() => cb(err));

/** One session's hooks, for what the listener decides per connection. */
export interface SessionHooks {
  /** Reply to the client outside a command (a deadline's 421). */
  reply(code: number, text: string): void;
  /** Is the client transferring a message (after 354)? */
  inData(): boolean;
  /** Is TLS in force on the session? */
  secure(): boolean;
  /**
   * This session only: EHLO's SIZE, MAIL FROM's SIZE= check and the DATA cut-off use `size`; with
   * `hideREQUIRETLS`, EHLO after STARTTLS does not offer REQUIRETLS (RFC 8689).
   */
  sessionOptions(options: { size: number; hideREQUIRETLS: boolean }): void;
  /** Rewrite the text of our replies before they are sent. */
  rewriteReplies(rewrite: (code: number, text: string) => string): void;
  /** Told after each reply is sent. */
  afterReply(listener: (code: number) => void): void;
  /** Told when a complete command line arrives, before it is handled. */
  beforeCommand(listener: () => void): void;
  /** Answer every command not `allowed` (and known) with `code text` until TLS is in force. */
  refuseUntilTls(allowed: ReadonlySet<string>, code: number, text: string): void;
  /** Told when the STARTTLS handshake fails. */
  onTlsFailure(listener: (err: Error) => void): void;
}

/** The hooks of the session `session` of `server`; undefined once it has gone. */
export function sessionHooks(server: SMTPServer, session: SMTPServerSession): SessionHooks | undefined {
  const c = connectionOf.get(session);
  if (!c || !internals(server).connections.has(c)) return undefined;
  return {
    reply: (code, text) => c.send(code, text),
    inData: () => c._parser?._dataMode === true,
    secure: () => c.secure,
    sessionOptions(options) {
      const server = c._server;
      c._server = Object.create(server, { options: { value: Object.assign(Object.create(server.options), options) } });
    },
    rewriteReplies(rewrite) {
      const send = c.send.bind(c);
      c.send = (code, text, multiline) => send(code, typeof text === 'string' ? rewrite(code, text) : text, multiline);
    },
    afterReply(listener) {
      const send = c.send.bind(c);
      c.send = (code, text, multiline) => {
        send(code, text, multiline);
        listener(code);
      };
    },
    beforeCommand(listener) {
      const onCommand = c._onCommand.bind(c);
      c._onCommand = (command, callback) => {
        listener();
        onCommand(command, callback);
      };
    },
    refuseUntilTls(allowed, code, text) {
      const lookup = c._getHandler.bind(c);
      c._getHandler = (command) =>
        c.secure || allowed.has(command) || !lookup(command)
          ? lookup(command)
          : (_line, callback) => {
              c.send(code, text);
              callback();
            };
    },
    onTlsFailure(listener) {
      c.on('error', (err) => {
        if (c._upgrading && !c.secure) listener(err);
      });
    },
  };
}
