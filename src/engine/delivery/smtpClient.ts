import net from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { Config } from '../../store/schema.js';
import type { IdAllocator } from '../ids.js';
import type { MailLog } from '../log/mailLog.js';
import { fromReply, local, type Outcome, STATUS } from './outcome.js';
import { judgeSession, type MxRequirement, type MxTarget, type TlsPolicy } from './policy/chain.js';
import type { Observation } from './policy/tlsDecision.js';
import type { Target } from './route.js';
import type { TlsOutcome } from './tlsOutcomes.js';
import { useFastDotStuffing } from './dotStuffing.js';

/**
 * The SMTP client: the only module that uses nodemailer. It opens a connection (STARTTLS and the
 * policies' judgement of the session included), sends one transaction and turns the server's
 * replies into typed outcomes, and closes. What it uses of nodemailer beyond the documented API is
 * described once, in `NodemailerInternals`, and checked by test/unit/smtp-client-internals.test.ts.
 */

// The message's DATA is escaped by dotStuffing.ts, not byte by byte in JavaScript.
await useFastDotStuffing();

/** What opening a connection needs: who we are and what we present. */
export interface ClientContext {
  config: Config;
  log: MailLog;
  ids: IdAllocator;
  hostname: string;
  /** Client certificate for outbound TLS (destconfig SETUP). */
  clientCert?: { key: string; cert: string };
  /**
   * The TLS client context (certificate, key, ciphers, minimum version), made on first use and
   * shared by every connection of this configuration: parsing the key per connection was a
   * measurable part of a delivery.
   */
  clientContext?: tls.SecureContext;
  connectTimeoutMs?: number;
}

/**
 * nodemailer 10.6's connection internals this module reads: the socket (peer chain, local address,
 * Nagle), the EHLO extensions and AUTH flag (to tell a HELO fallback from a missing STARTTLS), the
 * STARTTLS-in-progress flag (to tell a failed handshake from a failed connection), and the closing
 * flags (is a kept session still usable).
 */
export interface NodemailerInternals {
  _socket?: TLSSocket;
  _supportedExtensions: string[];
  allowsAuth: boolean;
  upgrading?: boolean;
  _destroyed?: boolean;
  _closing?: boolean;
}

type Connection = SMTPConnection & NodemailerInternals;

/** nodemailer's error, with the reply it carries when a server answered. */
type ClientError = Error & { code?: string; command?: string; response?: string; responseCode?: number; rejectedErrors?: { recipient?: string; response?: string; responseCode?: number }[] };

export interface Opened {
  conn: Connection;
  dcid: number;
  observation: Observation | null;
  /** The connection cannot carry mail (STARTTLS refused or handshake failed). */
  dead: boolean;
  /** What the TLS decision made of this session (the dashboard's chart). */
  tls?: TlsOutcome;
  /** TLS without a required check, whose certificate verified all the same (tlsreport's evidence). */
  verifiable?: boolean;
  /** The MX host name the session went to (tlsreport's evidence for MTA-STS). */
  mxHost?: string;
  /** The address the session went to (limits per MX IP). */
  host?: string;
}

/** An open, ready SMTP session: its TLS decision was made when it was opened. */
export interface Session {
  opened: Opened;
  /** Messages sent on it so far. */
  messages: number;
}

/**
 * The certificates the server sent, leaf first (DER). Through getPeerX509Certificate, a few µs:
 * getPeerCertificate(true) builds an object of every field (three fingerprints, the public key,
 * the names as text) for each certificate, 1.5-4 ms of CPU per session measured here.
 */
function peerChain(socket: TLSSocket): Buffer[] {
  const chain: Buffer[] = [];
  const seen = new Set<string>();
  for (let c = socket.getPeerX509Certificate(); c && !seen.has(c.fingerprint256); c = c.issuerCertificate) {
    seen.add(c.fingerprint256);
    chain.push(c.raw);
  }
  return chain;
}

/**
 * Connect to one target, STARTTLS when `tlsAttempt`, and have the policies judge the session
 * (certificate checks, DANE) before anything but EHLO is sent. SNI is the TLSA base domain when
 * DANE applies, else the MX host name.
 */
export async function open(ctx: ClientContext, target: Target, domain: string, req: MxRequirement, tlsAttempt: boolean, policies: TlsPolicy[]): Promise<Opened> {
  const dcid = ctx.ids.take('dcid');
  // nodemailer reports the TCP connection (with our local address) to its logger: that is the
  // moment the appliance logs "New SMTP DCID … interface …".
  const quiet = () => undefined;
  const logger = {
    trace: quiet,
    debug: quiet,
    warn: quiet,
    error: quiet,
    fatal: quiet,
    info(entry: { tnx?: string; localAddress?: string }) {
      if (entry?.tnx !== 'network' || !entry.localAddress) return;
      ctx.log.info(`New SMTP DCID ${dcid} interface ${entry.localAddress} address ${target.host} port ${target.port}`);
      logger.info = quiet;
      // Nagle's algorithm held the last small write of each message (".") until the peer's delayed
      // ACK: 40 ms per message, most of a delivery's time on a fast link. Commands are small: send them now.
      conn._socket?.setNoDelay(true);
    },
  };
  const conn = new SMTPConnection({
    logger,
    host: target.host,
    port: target.port,
    name: ctx.hostname,
    ignoreTLS: !tlsAttempt,
    connectionTimeout: ctx.connectTimeoutMs ?? 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 120_000,
    tls: {
      // Verification is the policies' (CA lists and the guide's name rules, or DANE), after the handshake.
      rejectUnauthorized: false,
      secureContext: (ctx.clientContext ??= tls.createSecureContext({
        minVersion: ctx.config.tls.outboundMinVersion,
        ciphers: ctx.config.tls.outboundCiphers,
        ...(ctx.clientCert ?? {}),
      })),
      ...(req.dane ? { servername: req.dane.base } : net.isIP(target.mxHost) ? {} : { servername: target.mxHost }),
    },
  }) as Connection;
  conn.on('error', () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      conn.once('error', reject);
      conn.connect(() => resolve());
    });
  } catch (err) {
    const e = err as ClientError | undefined;
    if (e?.code === 'ETLS' && e.command === 'STARTTLS') return { conn, dcid, dead: true, observation: { stage: 'starttls-refused', reply: e.response ?? e.message } };
    if (conn.upgrading) return { conn, dcid, dead: true, observation: { stage: 'handshake-failed', error: e?.message ?? String(err) } };
    throw new ConnectFailed(dcid, e?.message ?? String(err), e?.response);
  }
  if (!tlsAttempt) return { conn, dcid, dead: false, observation: null };
  if (!conn.secure) {
    // HELO fallback leaves no extensions and marks AUTH as possible (nodemailer 10.6).
    const noEsmtp = conn._supportedExtensions.length === 0 && conn.allowsAuth;
    return { conn, dcid, dead: false, observation: { stage: noEsmtp ? 'no-esmtp' : 'no-starttls' } };
  }
  const socket = conn._socket!;
  const protocol = socket.getProtocol() ?? '?';
  const cipher = socket.getCipher().standardName ?? socket.getCipher().name;
  const mx: MxTarget = { domain, mxHost: target.mxHost, target };
  const verification = await judgeSession(policies, mx, req, { chain: peerChain(socket), protocol, cipher });
  return { conn, dcid, dead: false, observation: { stage: 'secure', protocol, cipher, verification } };
}

/** No SMTP session could be opened (refused, timed out, greeting refused): `reason` says why, the server's reply when it gave one. */
export class ConnectFailed extends Error {
  readonly reason: string;
  constructor(
    readonly dcid: number,
    message: string,
    reply?: string,
  ) {
    super(message);
    this.reason = reply ?? message;
  }
}

/** The local address of an open session, as the probes print it ("from interface …"). */
export function localAddressOf(opened: Opened): string {
  return opened.conn._socket?.localAddress ?? '?';
}

/** Did the server name `extension` in its EHLO reply (after STARTTLS, the one that counts)? */
export function offers(opened: Opened, extension: string): boolean {
  return opened.conn._supportedExtensions.includes(extension);
}

/** Can a kept session still carry a message (the peer has not closed it)? */
export function usable(session: Session): boolean {
  return !session.opened.conn._destroyed && !session.opened.conn._closing;
}

export function close(log: MailLog, opened: Opened): void {
  try {
    opened.conn.quit();
  } catch {
    opened.conn.close();
  }
  log.info(`DCID ${opened.dcid} close`);
}

export type Recipients = { rid: number; address: string }[];

/** A reply nodemailer reports as an error, or what happened when no server replied. */
function outcomeOfError(e: { response?: string; responseCode?: number; message?: string }): Outcome {
  if (e.response && e.responseCode) return fromReply(e.responseCode, e.response);
  return local('temporary', STATUS.lostConnection, e.response ?? e.message ?? 'no reply');
}

/**
 * One SMTP transaction on an open session. 'clean' leaves the session ready for another message;
 * 'lost' means the (kept) session was already gone before anything was sent, so the message may go
 * on another connection at once; 'failed' is a deferral or rejection recorded in `outcomes`.
 */
export async function transmit(
  log: MailLog,
  session: Session,
  mid: number,
  from: string,
  recipients: Recipients,
  message: Buffer,
  outcomes: Map<number, Outcome>,
  requireTls = false,
): Promise<'clean' | 'lost' | 'failed'> {
  const { dcid, conn } = session.opened;
  const rids = recipients.map((r) => r.rid).join(',');
  log.info(`Delivery start DCID ${dcid} MID ${mid} to RID [${rids}]`);
  try {
    const info = await new Promise<SMTPConnection.SentMessageInfo>((resolve, reject) => conn.send({ from, to: recipients.map((r) => r.address), ...(requireTls ? { requireTLSExtensionEnabled: true } : {}) }, message, (err, sent) => (err ? reject(err) : resolve(sent))));
    session.messages += 1;
    // nodemailer hands over the final reply to a message it sent as the wire's text only: its
    // code is read here, once, at the wire (2xx, or it would have been an error).
    const accepted = fromReply(Number(/^2\d\d/.exec(info.response)?.[0] ?? 250), info.response);
    for (const r of recipients) {
      if (info.accepted.includes(r.address)) {
        outcomes.set(r.rid, accepted);
      } else {
        const rejected = info.rejectedErrors?.find((e) => (e as { recipient?: string }).recipient === r.address) as ClientError | undefined;
        outcomes.set(r.rid, rejected ? outcomeOfError(rejected) : local('temporary', STATUS.unspecified('temporary'), 'recipient rejected'));
      }
    }
    const done = recipients.filter((r) => outcomes.get(r.rid)?.kind === 'delivered').map((r) => r.rid);
    if (done.length) log.info(`Message done DCID ${dcid} MID ${mid} to RID [${done.join(',')}] [('${info.response}')]`);
    return 'clean';
  } catch (err) {
    const e = err as ClientError;
    if (session.messages > 0 && e.code === 'ECONNECTION' && e.command === 'API') {
      log.info(`DCID ${dcid} kept connection was closed by the peer; MID ${mid} goes on a new one`);
      return 'lost';
    }
    const outcome = outcomeOfError(e);
    for (const r of recipients) outcomes.set(r.rid, outcome);
    // Every recipient refused at RCPT: each keeps its own answer.
    for (const r of e.rejectedErrors ?? []) {
      const rcpt = recipients.find((x) => x.address === r.recipient);
      if (rcpt && r.response) outcomes.set(rcpt.rid, outcomeOfError(r));
    }
    log.info(`DCID ${dcid} MID ${mid} to RID [${rids}] ${outcome.kind === 'permanent' ? 'rejected' : 'deferred'}: ${outcome.text}`);
    return 'failed';
  }
}
