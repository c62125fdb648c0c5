import net from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { destinationFor, type DestinationTls } from '../../store/destinations.js';
import type { Config } from '../../store/schema.js';
import type { DnsClient } from '../dns/client.js';
import type { IdAllocator } from '../ids.js';
import type { MailLog } from '../log/mailLog.js';
import { classifySession, type TlsOutcome } from './tlsOutcomes.js';
import { judgeSession, type MxRequirement, type MxTarget, preparePolicies, requirementForMx, settlePolicies, type TlsPolicy } from './policy/chain.js';
import type { MtaStsService } from '../mtasts/service.js';
import type { TlsReportSink } from '../tlsrpt/results.js';
import { policiesFor } from './policy/policies.js';
import { type Decision, decide, type Observation } from './policy/tlsDecision.js';
import { resolveRoute, RouteError, type Target } from './route.js';
import type { ConnectionCache, Session as CachedSession } from './connections.js';

type Session = CachedSession<Opened>;

export interface AttemptContext {
  config: Config;
  log: MailLog;
  ids: IdAllocator;
  hostname: string;
  trusted: string[];
  /** The engine's DNS client (dnsconfig servers), for routes and TLSA lookups. */
  dns: DnsClient;
  /** Client certificate for outbound TLS (destconfig SETUP). */
  clientCert?: { key: string; cert: string };
  /**
   * The TLS client context (certificate, key, ciphers, minimum version), made on first use and
   * shared by every connection of this configuration: parsing the key per connection was a
   * measurable part of a delivery.
   */
  clientContext?: tls.SecureContext;
  connectTimeoutMs?: number;
  /** Idle sessions kept for the next message to the same domain (delivery only, not tlsverify). */
  connections?: ConnectionCache<Opened>;
  /** MTA-STS policy cache and discovery (destconfig --mta-sts yes). */
  mtaSts?: MtaStsService;
  /** TLS report material (delivery only, not tlsverify). */
  reports?: TlsReportSink;
}

export type Outcome = { status: 'delivered' | 'bounced' | 'deferred'; response: string };

export interface AttemptResult {
  outcomes: Map<number, Outcome>;
  /** Set when a required TLS connection failed (alert material). */
  requiredTlsFailure?: string;
  /** Set when DANE failed for a host of the domain and no host took the message (alert material). */
  daneFailure?: string;
  /** Set when no host of the domain could be reached at all (refused, timed out, no route): it is down. */
  unreachable?: string;
  /** The TLS outcome of the session that carried the message, when one did. */
  tls?: TlsOutcome;
}

/** nodemailer's connection, with the internals used to tell the server's behaviours apart. */
type Connection = SMTPConnection & { _socket?: TLSSocket; _supportedExtensions: string[]; allowsAuth: boolean; upgrading?: boolean };

export interface Opened {
  conn: Connection;
  dcid: number;
  observation: Observation | null;
  /** The connection cannot carry mail (STARTTLS refused or handshake failed). */
  dead: boolean;
  /** What the TLS decision made of this session (the dashboard's chart). */
  tls?: TlsOutcome;
  error?: Error & { code?: string; response?: string; responseCode?: number };
}

/** The certificates the server sent, leaf first (DER). */
function peerChain(socket: TLSSocket): Buffer[] {
  const chain: Buffer[] = [];
  const seen = new Set<string>();
  let c = socket.getPeerCertificate(true);
  while (c?.raw && !seen.has(c.fingerprint256)) {
    seen.add(c.fingerprint256);
    chain.push(c.raw);
    c = c.issuerCertificate;
  }
  return chain;
}

/**
 * Connect to one target, STARTTLS when `tlsAttempt`, and have the policies judge the session
 * (certificate checks, DANE) before anything but EHLO is sent. SNI is the TLSA base domain when
 * DANE applies, else the MX host name.
 */
export async function open(ctx: AttemptContext, target: Target, domain: string, req: MxRequirement, tlsAttempt: boolean, policies: TlsPolicy[]): Promise<Opened> {
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
    const e = err as Opened['error'] & { command?: string };
    if (e?.code === 'ETLS' && e.command === 'STARTTLS') return { conn, dcid, dead: true, observation: { stage: 'starttls-refused', reply: e.response ?? e.message }, error: e };
    if (conn.upgrading) return { conn, dcid, dead: true, observation: { stage: 'handshake-failed', error: e?.message ?? String(err) }, error: e };
    throw Object.assign(e ?? new Error(String(err)), { dcid });
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

/** The local address of an open session, as the probes print it ("from interface …"). */
export function localAddressOf(opened: Opened): string {
  return opened.conn._socket?.localAddress ?? '?';
}

export function close(log: MailLog, opened: Opened): void {
  try {
    opened.conn.quit();
  } catch {
    opened.conn.close();
  }
  log.info(`DCID ${opened.dcid} close`);
}

const codeOf = (response: string | undefined) => Number(/^(\d{3})/.exec(response ?? '')?.[1] ?? 0);

type Recipients = { rid: number; address: string }[];

/**
 * One SMTP transaction on an open session. 'clean' leaves the session ready for another message;
 * 'lost' means the (kept) session was already gone before anything was sent, so the message may go
 * on another connection at once; 'failed' is a deferral or rejection recorded in `outcomes`.
 */
async function transmit(ctx: AttemptContext, session: Session, mid: number, from: string, recipients: Recipients, message: Buffer, outcomes: Map<number, Outcome>): Promise<'clean' | 'lost' | 'failed'> {
  const { dcid, conn } = session.opened;
  const rids = recipients.map((r) => r.rid).join(',');
  ctx.log.info(`Delivery start DCID ${dcid} MID ${mid} to RID [${rids}]`);
  try {
    const info = await new Promise<SMTPConnection.SentMessageInfo>((resolve, reject) => conn.send({ from, to: recipients.map((r) => r.address) }, message, (err, sent) => (err ? reject(err) : resolve(sent))));
    session.messages += 1;
    for (const r of recipients) {
      if (info.accepted.includes(r.address)) {
        outcomes.set(r.rid, { status: 'delivered', response: info.response });
      } else {
        const rejected = info.rejectedErrors?.find((e) => (e as { recipient?: string }).recipient === r.address) as { response?: string } | undefined;
        const response = rejected?.response ?? 'recipient rejected';
        outcomes.set(r.rid, { status: codeOf(response) >= 500 ? 'bounced' : 'deferred', response });
      }
    }
    const done = recipients.filter((r) => outcomes.get(r.rid)?.status === 'delivered').map((r) => r.rid);
    if (done.length) ctx.log.info(`Message done DCID ${dcid} MID ${mid} to RID [${done.join(',')}] [('${info.response}')]`);
    return 'clean';
  } catch (err) {
    const e = err as Error & { code?: string; command?: string; response?: string; responseCode?: number; rejectedErrors?: { recipient?: string; response?: string }[] };
    if (session.messages > 0 && e.code === 'ECONNECTION' && e.command === 'API') {
      ctx.log.info(`DCID ${dcid} kept connection was closed by the peer; MID ${mid} goes on a new one`);
      return 'lost';
    }
    const response = e.response ?? e.message;
    const permanent = (e.responseCode ?? codeOf(response)) >= 500;
    for (const r of recipients) outcomes.set(r.rid, { status: permanent ? 'bounced' : 'deferred', response });
    // Every recipient refused at RCPT: each keeps its own answer.
    for (const r of e.rejectedErrors ?? []) {
      const rcpt = recipients.find((x) => x.address === r.recipient);
      if (rcpt && r.response) outcomes.set(rcpt.rid, { status: codeOf(r.response) >= 500 ? 'bounced' : 'deferred', response: r.response });
    }
    ctx.log.info(`DCID ${dcid} MID ${mid} to RID [${rids}] ${permanent ? 'rejected' : 'deferred'}: ${response}`);
    return 'failed';
  }
}

/**
 * Deliver one message to the recipients of one domain: a kept session to the domain first (its
 * TLS decision was made under the current settings), else route, then per host connect, apply the
 * destination's TLS decision, send. Under a Required setting nothing is ever sent in clear. After
 * a clean transaction the session is kept for the next message (destconfig messages per
 * connection); alerts (`tlsOverride`) use a connection of their own.
 */
export async function deliverToDomain(
  ctx: AttemptContext,
  mid: number,
  from: string,
  recipients: Recipients,
  domain: string,
  message: Buffer,
  tlsOverride?: DestinationTls,
): Promise<AttemptResult> {
  const outcomes = new Map<number, Outcome>();
  const all = (status: Outcome['status'], response: string) => recipients.forEach((r) => outcomes.set(r.rid, { status, response }));
  const dest = destinationFor(ctx.config.delivery, domain);
  const cache = tlsOverride ? undefined : ctx.connections;
  const finish = (session: Session, sent: 'clean' | 'failed') => {
    if (sent === 'clean' && cache) cache.put(domain, session, dest.messagesPerConnection);
    else close(ctx.log, session.opened);
  };
  for (let kept = cache?.take(domain); kept; kept = cache?.take(domain)) {
    const sent = await transmit(ctx, kept, mid, from, recipients, message, outcomes);
    if (sent === 'lost') {
      close(ctx.log, kept.opened);
      continue;
    }
    finish(kept, sent);
    return { outcomes, ...(kept.opened.tls ? { tls: kept.opened.tls } : {}) };
  }
  const { setting, policies } = policiesFor(ctx, domain, tlsOverride ? { tls: tlsOverride, dane: 'none', mtaSts: false } : {});
  let targets: Target[];
  try {
    const route = await resolveRoute(ctx.config, domain, ctx.dns);
    targets = route.targets;
    for (const p of route.problems) ctx.log.info(`Route to ${domain}: ${p}`);
  } catch (err) {
    const permanent = err instanceof RouteError && err.permanent;
    all(permanent ? 'bounced' : 'deferred', (err as Error).message);
    return { outcomes, ...(permanent ? {} : { unreachable: (err as Error).message }) };
  }
  // DANE lookups for every host start now, before the first connection.
  preparePolicies(policies, targets);
  let requiredTlsFailure: string | undefined;
  let daneFailure: string | undefined;
  let lastError = 'no host could be reached';
  // Did any host answer, or did a policy keep us from trying one? Then the domain is not down.
  let answered = false;
  const failures = () => ({
    ...(requiredTlsFailure ? { requiredTlsFailure } : {}),
    ...(daneFailure ? { daneFailure } : {}),
    ...(answered ? {} : { unreachable: lastError }),
  });
  for (const target of targets) {
    const mx: MxTarget = { domain, mxHost: target.mxHost, target };
    const req = await requirementForMx(setting, policies, mx);
    for (const note of req.notes) ctx.log.info(`${note.by} for ${domain} MX(${target.mxHost}) ${target.host}: ${note.text}`);
    if (req.refuse) {
      ctx.log.info(`Delivery to ${domain} via MX(${target.mxHost}) ${target.host} not attempted: ${req.refuse}`);
      lastError = req.refuse;
      answered = true;
      if (req.refusedBy === 'DANE') daneFailure = `${domain} (${target.mxHost}): ${req.refuse}`;
      settlePolicies(policies, mx, req, { kind: 'refused', reason: req.refuse });
      continue;
    }
    let opened: Opened;
    try {
      opened = await open(ctx, target, domain, req, req.attempt, policies);
    } catch (err) {
      const e = err as Error & { dcid?: number; response?: string };
      lastError = `${target.host}:${target.port}: ${e.response ?? e.message}`;
      ctx.log.info(`DCID ${e.dcid ?? '?'} connection failed: ${lastError}`);
      continue;
    }
    answered = true;
    const decision: Decision = opened.observation ? decide(req, opened.observation) : { action: 'send-clear', log: 'TLS not used (destination setting No)' };
    if (req.dane && opened.observation?.stage === 'secure') {
      const v = opened.observation.verification;
      ctx.log.info(v?.ok ? `DCID ${opened.dcid} DANE SUCCESS for ${domain}: ${v.by}` : `DCID ${opened.dcid} DANE FAILED for ${domain}: ${v && !v.ok ? v.reason : 'not checked'}`);
    }
    ctx.log.info(`DCID ${opened.dcid} ${decision.log}`);
    const tls = classifySession(decision, opened.observation, req.by);
    if (req.attempt) settlePolicies(policies, mx, req, { kind: 'session', observation: opened.observation, decision, localAddress: localAddressOf(opened) });
    if (decision.action === 'defer') {
      if (req.dane) daneFailure = `${domain} (${target.mxHost}): ${decision.log}`;
      if (decision.requiredTlsFailed) {
        ctx.log.warning(`DCID ${opened.dcid} IP ${target.host} TLS was required but could not be successfully negotiated`);
        requiredTlsFailure = `${domain} (${target.mxHost}): ${decision.log}`;
      }
      lastError = decision.log;
      close(ctx.log, opened);
      continue;
    }
    if (opened.dead) {
      // Preferred: STARTTLS was refused before any handshake, so the clear retry is allowed.
      close(ctx.log, opened);
      try {
        opened = await open(ctx, target, domain, req, false, policies);
      } catch (err) {
        lastError = (err as Error).message;
        continue;
      }
    }
    opened.tls = tls;
    const session: Session = { opened, messages: 0 };
    finish(session, (await transmit(ctx, session, mid, from, recipients, message, outcomes)) === 'clean' ? 'clean' : 'failed');
    // The message found a host: DANE failures of other hosts are not the domain's failure.
    return { outcomes, tls, ...(requiredTlsFailure ? { requiredTlsFailure } : {}) };
  }
  all('deferred', lastError);
  return { outcomes, ...failures() };
}
