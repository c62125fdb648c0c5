import type { ResolvedDestination } from '../../store/destinations/destinations.js';
import type { DnsClient } from '../dns/client.js';
import type { MtaStsService } from '../mtasts/service.js';
import type { TlsReportSink } from '../tlsrpt/results.js';
import type { ConnectionCache } from './connections.js';
import type { IpConnectionSlots } from './ipSlots.js';
import { type MessageTls, messageOverride } from './messageTls.js';
import { local, localReply, type Outcome, STATUS } from './outcome.js';
import { limitText, type RecipientGate } from './recipientRate.js';
import { type MxTarget, preparePolicies, requirementForMx, settlePolicies } from './policy/chain.js';
import { vouchedBy } from './policy/identity.js';
import { policiesFor } from './policy/policies.js';
import { requireTlsPolicy } from './policy/requireTls.js';
import { type Decision, decide, type Observation } from './policy/tlsDecision.js';
import { resolveRoute, RouteError, type Target } from './route.js';
import { type ClientContext, close, ConnectFailed, localAddressOf, offers, open, type Opened, type Recipients, type Session, transmit } from './smtpClient.js';
import { classifySession, failureReason, type TlsFailureReason, type TlsOutcome } from './tlsOutcomes.js';

export interface AttemptContext extends ClientContext {
  /** Trust anchors: the enabled system and custom CA lists (PEM). */
  trusted: string[];
  /** The engine's DNS client (dnsconfig servers), for routes and TLSA lookups. */
  dns: DnsClient;
  /** Idle sessions kept for the next message to the same domain (delivery only, not tlsverify). */
  connections?: ConnectionCache<Session>;
  /** MTA-STS policy cache and discovery (destconfig --mta-sts yes). */
  mtaSts?: MtaStsService;
  /** TLS report material (delivery only, not tlsverify). */
  reports?: TlsReportSink;
  /** Connections open per MX address, for destinations whose limits apply per MX IP (delivery only). */
  ipSlots?: IpConnectionSlots;
}

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
  /** The session was TLS without a required check, and its certificate verified all the same. */
  verifiable?: boolean;
  /** The MX host name of the session that carried the message. */
  mxHost?: string;
  /** Connections to the domain that carried nothing, by why (tlsreport). */
  failures?: TlsFailureReason[];
  /**
   * Nothing was tried: every MX address already had its connections, or its recipients (limits per
   * MX IP). Not an attempt. `waitSeconds`: when a recipient slot frees, if only recipients were the limit.
   */
  busy?: boolean;
  waitSeconds?: number;
  /** Recipients not offered: the address that took the others had reached its recipient limit (limits per MX IP). */
  overLimit?: number[];
}

/** Why nothing was sent on a session the TLS decision deferred. */
const tlsStatus = (obs: Observation | null) => (obs && (obs.stage === 'no-starttls' || obs.stage === 'no-esmtp') ? STATUS.tlsNotOffered : STATUS.tlsFailed);

/**
 * Deliver one message to the recipients of one domain: a kept session to the domain first (its
 * TLS decision was made under the current settings), else route, then per host connect, apply the
 * destination's TLS decision, send. Under a Required setting nothing is ever sent in clear. After
 * a clean transaction the session is kept for the next message (destconfig messages per
 * connection). A message with TLS wishes of its own (`handling`: alerts, REQUIRETLS, "TLS-Required:
 * No") is delivered under them (messageOverride), on a connection of its own.
 */
export async function deliverToDomain(
  ctx: AttemptContext,
  dest: ResolvedDestination,
  mid: number,
  from: string,
  recipients: Recipients,
  domain: string,
  message: Buffer,
  handling: MessageTls = {},
  gate?: RecipientGate,
): Promise<AttemptResult> {
  const outcomes = new Map<number, Outcome>();
  const all = (outcome: Outcome) => recipients.forEach((r) => outcomes.set(r.rid, outcome));
  const override = messageOverride(dest, handling);
  const requireTls = handling.requireTls === true;
  const cache = override ? undefined : ctx.connections;
  const finish = (session: Session, sent: 'clean' | 'failed') => {
    if (sent === 'clean' && cache) cache.put(domain, session, dest.messagesPerConnection);
    else close(ctx.log, session.opened);
  };
  // Limits per MX IP with a recipient limit: the address a session goes to grants the recipients
  // offered on it; the others wait (`overLimit`), for another address or for the window to move.
  let overLimit: number[] = [];
  const offer = (host: string): Recipients => {
    if (!gate) return recipients;
    const granted = gate.take(host, recipients.length);
    const waiting = recipients.slice(granted);
    overLimit = waiting.map((r) => r.rid);
    for (const r of waiting) outcomes.set(r.rid, localReply('temporary', STATUS.congested, `recipient limit for ${domain} at ${host} reached (${limitText(gate.limit)}, limit per MX IP)`));
    return recipients.slice(0, granted);
  };
  const limits = () => (overLimit.length ? { overLimit } : {});
  // Kept sessions to addresses without recipient room stay kept, for later messages.
  const skipped: Session[] = [];
  const keepSkipped = () => skipped.splice(0).forEach((s) => cache?.put(domain, s, dest.messagesPerConnection));
  for (let kept = cache?.take(domain); kept; kept = cache?.take(domain)) {
    const host = kept.opened.host ?? '';
    if (gate && !gate.hasRoom(host)) {
      skipped.push(kept);
      continue;
    }
    const offered = offer(host);
    const sent = await transmit(ctx.log, kept, mid, from, offered, message, outcomes);
    if (sent === 'lost') {
      gate?.giveBack(host, offered.length);
      close(ctx.log, kept.opened);
      continue;
    }
    finish(kept, sent);
    keepSkipped();
    const { tls, verifiable, mxHost } = kept.opened;
    return { outcomes, ...(tls ? { tls } : {}), ...(verifiable ? { verifiable: true } : {}), ...(mxHost ? { mxHost } : {}), ...limits() };
  }
  keepSkipped();
  const { setting, policies } = policiesFor(ctx, domain, dest, override ?? {});
  if (requireTls) policies.push(requireTlsPolicy(domain));
  if (override && !handling.alert) ctx.log.info(`MID ${mid} to ${domain}: ${override.why}`);
  let targets: Target[];
  try {
    const route = await resolveRoute(ctx.config, domain, ctx.dns, dest.ipSort);
    targets = route.targets;
    for (const p of route.problems) ctx.log.info(`Route to ${domain}: ${p}`);
  } catch (err) {
    const permanent = err instanceof RouteError && err.permanent;
    all(permanent ? local('permanent', STATUS.badDestination, (err as Error).message) : local('temporary', STATUS.routingFailed, (err as Error).message));
    return { outcomes, ...(permanent ? {} : { unreachable: (err as Error).message }) };
  }
  // DANE lookups for every host start now, before the first connection.
  preparePolicies(policies, targets);
  let requiredTlsFailure: string | undefined;
  let daneFailure: string | undefined;
  let last = local('temporary', STATUS.noAnswer, 'no host could be reached');
  const carriedNothing: TlsFailureReason[] = [];
  // Did any host answer, or did a policy keep us from trying one? Then the domain is not down.
  let answered = false;
  // REQUIRETLS refused every host before connecting: no host can ever qualify, the message bounces now.
  let unqualified = 0;
  // A REQUIRETLS message held back by TLS is held back by REQUIRETLS: its DSN says 5.7.30 (RFC 8689 §4.2.1).
  const tlsHeldBack = (status: string) => (requireTls ? STATUS.requireTls('temporary') : status);
  const failures = () => ({
    ...(carriedNothing.length ? { failures: carriedNothing } : {}),
    ...(requiredTlsFailure ? { requiredTlsFailure } : {}),
    ...(daneFailure ? { daneFailure } : {}),
    ...(answered ? {} : { unreachable: last.text }),
  });
  const perIp = dest.limitType === 'mx-ip' ? ctx.ipSlots : undefined;
  let busy = 0;
  let full = 0;
  for (const target of targets) {
    if (gate && !gate.hasRoom(target.host)) {
      full += 1;
      ctx.log.info(`Delivery to ${domain} via MX(${target.mxHost}) ${target.host} waits: the recipient limit for that address is reached (${limitText(gate.limit)}, limit per MX IP)`);
      continue;
    }
    // Limits per MX IP: a slot for this address first (given back when its connection closes).
    const slot = perIp ? perIp.reserve(domain, target.host, dest.maxConcurrency) : () => undefined;
    if (!slot) {
      busy += 1;
      ctx.log.info(`Delivery to ${domain} via MX(${target.mxHost}) ${target.host} waits: ${dest.maxConcurrency} connection(s) to that address are open (limit per MX IP)`);
      continue;
    }
    let kept: Opened | undefined;
    try {
      const mx: MxTarget = { domain, mxHost: target.mxHost, target };
      const req = await requirementForMx(setting, policies, mx);
      for (const note of req.notes) ctx.log.info(`${note.by} for ${domain} MX(${target.mxHost}) ${target.host}: ${note.text}`);
      if (req.refuse) {
        ctx.log.info(`Delivery to ${domain} via MX(${target.mxHost}) ${target.host} not attempted: ${req.refuse}`);
        answered = true;
        if (req.refusedBy === 'REQUIRETLS') {
          unqualified += 1;
          last = local('temporary', STATUS.requireTls('temporary'), `REQUIRETLS: ${req.refuse}`);
          continue;
        }
        last = local('temporary', tlsHeldBack(STATUS.tlsFailed), req.refuse);
        if (req.refusedBy === 'DANE' && !requireTls) daneFailure = `${domain} (${target.mxHost}): ${req.refuse}`;
        carriedNothing.push(failureReason(null, `${req.refusedBy ?? ''} ${req.refuse}`));
        settlePolicies(policies, mx, req, { kind: 'refused', reason: req.refuse });
        continue;
      }
      let opened: Opened;
      try {
        opened = await open(ctx, target, domain, req, req.attempt, policies);
      } catch (err) {
        const failed = err instanceof ConnectFailed ? err : undefined;
        last = local('temporary', STATUS.noAnswer, `${target.host}:${target.port}: ${failed?.reason ?? (err as Error).message}`);
        ctx.log.info(`DCID ${failed?.dcid ?? '?'} connection failed: ${last.text}`);
        carriedNothing.push('no connection');
        continue;
      }
      answered = true;
      const decision: Decision = opened.observation ? decide(req, opened.observation) : { action: 'send-clear', log: 'TLS not used (destination setting No)' };
      if (req.dane && opened.observation?.stage === 'secure') {
        const v = opened.observation.verification;
        ctx.log.info(v?.ok ? `DCID ${opened.dcid} DANE SUCCESS for ${domain}: ${vouchedBy(v)}` : `DCID ${opened.dcid} DANE FAILED for ${domain}: ${v && !v.ok ? v.reason : 'not checked'}`);
      }
      // The AsyncOS guide's line when the EHLO answer has no STARTTLS (and TLS was to be tried).
      if (req.attempt && opened.observation?.stage === 'no-starttls') ctx.log.info(`DCID ${opened.dcid} STARTTLS command not supported`);
      ctx.log.info(`DCID ${opened.dcid} ${decision.log}`);
      const tls = classifySession(decision, opened.observation, req.by);
      if (req.attempt) settlePolicies(policies, mx, req, { kind: 'session', observation: opened.observation, decision, localAddress: localAddressOf(opened) });
      if (decision.action === 'defer') {
        // The alerts are about the destination's own settings: a REQUIRETLS message's demands are the sender's.
        if (req.dane && !requireTls) daneFailure = `${domain} (${target.mxHost}): ${decision.log}`;
        if (decision.requiredTlsFailed) {
          ctx.log.warning(`DCID ${opened.dcid} IP ${target.host} TLS was required but could not be successfully negotiated`);
          if (!requireTls) requiredTlsFailure = `${domain} (${target.mxHost}): ${decision.log}`;
        }
        last = local('temporary', tlsHeldBack(tlsStatus(opened.observation)), decision.log);
        carriedNothing.push(failureReason(opened.observation, `${req.dane ? 'DANE ' : ''}${decision.log}`));
        close(ctx.log, opened);
        continue;
      }
      if (requireTls && !offers(opened, 'REQUIRETLS')) {
        // Not a TLS failure (tlsreport does not count it): the host cannot pass the REQUIRETLS promise on.
        const why = `REQUIRETLS: MX(${target.mxHost}) ${target.host} does not offer REQUIRETLS after STARTTLS; MID ${mid} is not sent there`;
        ctx.log.info(`DCID ${opened.dcid} ${why}`);
        last = local('temporary', STATUS.requireTls('temporary'), why);
        close(ctx.log, opened);
        continue;
      }
      if (opened.dead) {
        // Preferred: STARTTLS was refused before any handshake, so the clear retry is allowed.
        close(ctx.log, opened);
        try {
          opened = await open(ctx, target, domain, req, false, policies);
        } catch (err) {
          last = local('temporary', STATUS.noAnswer, (err as Error).message);
          continue;
        }
      }
      opened.tls = tls;
      opened.mxHost = target.mxHost;
      opened.host = target.host;
      const verifiable = tls === 'tls' && opened.observation?.stage === 'secure' && opened.observation.verification?.ok === true;
      if (verifiable) opened.verifiable = true;
      const session: Session = { opened, messages: 0 };
      // The slot stays taken while this connection is open, kept for the next message or not.
      kept = opened;
      opened.conn.once('end', slot);
      // Another delivery may have used the address's last recipient slots while this one connected.
      const offered = offer(target.host);
      if (!offered.length) {
        finish(session, 'clean');
        return { outcomes, busy: true, waitSeconds: gate!.waitSeconds(target.host) };
      }
      finish(session, (await transmit(ctx.log, session, mid, from, offered, message, outcomes, requireTls)) === 'clean' ? 'clean' : 'failed');
      // The message found a host: DANE failures of other hosts are not the domain's failure.
      return { outcomes, tls, mxHost: target.mxHost, ...(verifiable ? { verifiable } : {}), ...(carriedNothing.length ? { failures: carriedNothing } : {}), ...(requiredTlsFailure ? { requiredTlsFailure } : {}), ...limits() };
    } finally {
      if (!kept) slot();
    }
  }
  if (busy + full > 0 && busy + full === targets.length) {
    // Without a busy address, the recipient limit (the gate's) kept every address.
    if (busy) all(local('temporary', STATUS.congested, `every MX address of ${domain} has its ${dest.maxConcurrency} connection(s) open (limit per MX IP)`));
    else all(localReply('temporary', STATUS.congested, `recipient limit for ${domain} reached at every MX address (${limitText(gate!.limit)}, limit per MX IP)`));
    return { outcomes, busy: true, ...(busy === 0 ? { waitSeconds: Math.min(...targets.map((t) => gate!.waitSeconds(t.host))) } : {}) };
  }
  if (unqualified === targets.length) last = local('permanent', STATUS.requireTls('permanent'), last.text);
  all(last);
  return { outcomes, ...failures() };
}
