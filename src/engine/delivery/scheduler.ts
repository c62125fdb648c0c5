import type { DomainTlsStatistics } from './domainTlsStatistics.js';
import { TlsOutcomeCounter } from './tlsOutcomes.js';
import { destinationFor, type ResolvedDestination } from '../../store/destinations/destinations.js';
import { type BounceProfile, bounceProfile } from '../../store/bounces/profiles.js';
import { taggingKey } from '../../store/bounces/verification.js';
import { tagSender } from '../bounceTags.js';
import { presentedCredentials } from '../../store/certificates/keys.js';
import type { DataPaths } from '../../store/paths.js';
import type { Config } from '../../store/schema.js';
import { trustedCas } from '../../store/certificates/trust.js';
import type { IdAllocator } from '../ids.js';
import type { MailLog } from '../log/mailLog.js';
import { DamagedMessage, type Envelope, recipientStates, type Spool } from '../queue/spool.js';
import { type AttemptContext, type AttemptResult, deliverToDomain } from './attempt.js';
import { ConnectionCache } from './connections.js';
import { IpConnectionSlots } from './ipSlots.js';
import { limitText, RecipientRate } from './recipientRate.js';
import { DeadDestinations } from './deadDestinations.js';
import type { DnsClient } from '../dns/client.js';
import { nextState, expired } from './nextState.js';
import { localReply, type Outcome, STATUS } from './outcome.js';
import { type ProgressDeps, recordProgress } from './progress.js';
import { type ProfiledRecipient, sendBounces, sendDelayWarnings } from './bounceMessages.js';
import { QueueAdmin, type SchedulerHandle } from './queueAdmin.js';
import { close, type Session, usable } from './smtpClient.js';
import type { AlertService } from '../alerts/alerts.js';
import type { MtaStsService } from '../mtasts/service.js';
import type { TlsReportSink } from '../tlsrpt/results.js';
import type { DeliveryMetrics } from '../metrics/engineMetrics.js';

export interface SchedulerDeps {
  paths: DataPaths;
  spool: Spool;
  log: MailLog;
  ids: IdAllocator;
  config: () => Config;
  alerts: AlertService;
  mtaSts?: MtaStsService;
  /** Where delivery records TLS sessions for the daily reports. */
  reports?: TlsReportSink;
  /** Per-domain TLS evidence (tlsreport outbound). */
  statistics?: DomainTlsStatistics;
  /** The DNS client for a configuration (the engine's, with its cache). */
  dns: (config: Config) => DnsClient;
  /** Deliveries by outcome and TLS kind, attempt times (the Prometheus endpoint). */
  metrics?: DeliveryMetrics;
}


const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();

/** A domain's destination control entry with the bounce profile it names. */
type DestinationSettings = ResolvedDestination & { bounce: BounceProfile };

const settingsFor = (config: Config, domain: string): DestinationSettings => {
  const dest = destinationFor(config.delivery, domain);
  return { ...dest, bounce: bounceProfile(config.bounceProfiles, dest.bounceProfile) };
};

/**
 * The delivery scheduler works the queue: every message whose time has come is offered to its
 * destinations, recipients grouped by domain, each domain's settings resolved once and handed to
 * the attempt (attempt.ts → smtpClient.ts). What becomes of each recipient is `nextState` of its
 * typed outcome. Progress is written to the envelope after each attempt, so a restart resumes
 * where delivery stood; a message leaves the queue only when every recipient is delivered or
 * bounced. Mail for destinations that are down is parked. The queue commands are `admin`'s.
 */
export class DeliveryScheduler implements SchedulerHandle {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** Sessions kept between messages, valid for the configuration in force (see contextFor). */
  private readonly connections: ConnectionCache<Session>;
  /** Connections open per MX address (destinations whose limits apply per MX IP). */
  private readonly ipSlots = new IpConnectionSlots();
  /** The configuration in force and its delivery context, built once per configuration. */
  private inForce: { config: Config; ctx: Promise<AttemptContext> } | undefined;
  private readonly rate = new RecipientRate();
  /** Outbound messages per hour by TLS outcome (the dashboard's chart). */
  readonly tlsOutcomes = new TlsOutcomeCounter();
  /** Destinations no host of which could be reached: their mail waits for one probe. */
  readonly dead = new DeadDestinations();
  /**
   * Messages that wait only for destinations that are down, by domain: every new message starts
   * a pass over the whole queue, which skips these with one lookup each. They are looked at again
   * when a destination's wait ends, and all of them once a minute (a message may expire).
   */
  private readonly parked = new Map<string, Set<number>>();
  private readonly parkedMids = new Set<number>();
  private lastFullScan = 0;
  /** When deliverynow was last given: an attempt under way then is retried at once (whatever domain was named, for simplicity). */
  private retryNowAt = 0;
  private active = 0;
  private readonly progress: ProgressDeps;
  /** showrecipients, bouncerecipients, deliverynow. */
  readonly admin: QueueAdmin;

  constructor(private readonly deps: SchedulerDeps) {
    this.connections = new ConnectionCache<Session>((session, idleMs) => {
      if (idleMs !== undefined) deps.log.info(`DCID ${session.opened.dcid} unused for ${idleMs / 1000} s since its last message: closing`);
      close(deps.log, session.opened);
    }, usable);
    this.progress = { spool: deps.spool, log: deps.log, ids: deps.ids, hostname: () => deps.config().hostname };
    this.admin = new QueueAdmin(this.progress, this);
  }

  bounceProfileFor(domain: string): BounceProfile {
    return settingsFor(this.deps.config(), domain).bounce;
  }

  start(intervalMs = 1000): void {
    this.timer = setInterval(() => this.kick(), intervalMs);
    this.timer.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
    this.connections.closeAll();
  }

  /** Look at the queue now (new mail, commit, deliverynow). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass()
      .catch((err: Error) => this.deps.log.critical(`Delivery failed unexpectedly: ${err.stack ?? err.message}`))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** For status: messages being delivered now, idle connections kept for reuse. */
  activity(): { active: number; idleConnections: number; down: { domain: string; until: string; reason: string; probing: boolean }[] } {
    const down = this.dead.list().map((d) => ({ domain: d.domain, until: d.until.toISOString(), reason: d.reason, probing: d.probing }));
    return { active: this.active, idleConnections: this.connections.size, down };
  }

  /** Forget the waits of `domain` (or of every destination): its mail is tried on the next pass. */
  forgetWaits(domain?: string): void {
    this.retryNowAt = Date.now();
    this.dead.clear(domain);
    this.unpark();
  }

  /** Run `work` between delivery passes, so no envelope is written by two hands. */
  async exclusive<T>(work: () => Promise<T>): Promise<T> {
    while (this.running) await this.running;
    const done = work();
    const held = done.then(
      () => undefined,
      () => undefined,
    );
    this.running = held;
    try {
      return await done;
    } finally {
      if (this.running === held) this.running = undefined;
    }
  }

  /**
   * One pass over the due messages, several at a time. A message waits for a later pass while any
   * of its destinations already has its maximum number of connections (destconfig concurrency).
   */
  private async pass(): Promise<void> {
    const now = Date.now();
    // One configuration and one delivery context for the whole pass.
    const config = this.deps.config();
    const ctx = await this.contextFor(config);
    // Asked several times per message and, while a destination is at its connection limit, for every
    // message behind it at each turn of a worker: computed once per message and pass (a message's
    // recipients change only by its own attempt, after which this pass does not look at it again).
    const domainsOf = new Map<number, string[]>();
    const pendingDomains = (env: Readonly<Envelope>) => {
      let domains = domainsOf.get(env.mid);
      if (!domains) {
        const states = recipientStates(env);
        domains = [...new Set(env.to.filter((_, rid) => states[rid]!.status === 'pending').map(domainOf))];
        domainsOf.set(env.mid, domains);
      }
      return domains;
    };
    // Mail for a destination that is down waits untouched (no connection, no envelope write),
    // unless it has been in the queue too long: then it is bounced. This runs over the whole queue
    // on every pass, so it must stay cheap: settings are looked up once per domain.
    const maxQueueMs = new Map<string, number>();
    const queueLimit = (d: string) => maxQueueMs.get(d) ?? maxQueueMs.set(d, settingsFor(config, d).bounce.maxQueueSeconds * 1000).get(d)!;
    const movable = (env: Readonly<Envelope>) =>
      env.alert || pendingDomains(env).some((d) => !this.dead.waiting(d, now) || now - Date.parse(env.receivedAt) > queueLimit(d));
    if (now - this.lastFullScan > 60_000) {
      this.unpark();
      this.lastFullScan = now;
    }
    for (const [domain, mids] of this.parked) {
      if (this.dead.waiting(domain, now)) continue;
      for (const mid of mids) this.parkedMids.delete(mid);
      this.parked.delete(domain);
    }
    const due = await this.deps.spool.list((env) => {
      if (this.parkedMids.has(env.mid) || (env.nextAttemptAt && Date.parse(env.nextAttemptAt) > now)) return false;
      if (movable(env)) return true;
      this.parkedMids.add(env.mid);
      for (const d of pendingDomains(env)) (this.parked.get(d) ?? this.parked.set(d, new Set()).get(d)!).add(env.mid);
      return false;
    });
    if (due.length === 0) return;
    const inFlight = new Map<string, number>();
    // While a destination is at its connection limit, each turn of a worker looks at every message
    // behind it: its settings are resolved once per pass, not once per message and turn.
    const destinations = new Map<string, ReturnType<typeof destinationFor>>();
    const destinationOf = (d: string) => destinations.get(d) ?? destinations.set(d, destinationFor(config.delivery, d)).get(d)!;
    // Limits per MX IP are counted at each connection (attempt.ts), not per domain here.
    const admits = (d: string) => {
      const dest = destinationOf(d);
      return dest.limitType === 'mx-ip' || (inFlight.get(d) ?? 0) < dest.maxConcurrency;
    };
    const worker = async () => {
      for (;;) {
        if (this.stopped) return;
        const index = due.findIndex((env) => pendingDomains(env).every(admits));
        if (index < 0) {
          if (due.length) this.again = true; // held back by a concurrency limit: next pass
          return;
        }
        const [env] = due.splice(index, 1);
        // Another message may have taken the probe of its destination since the pass began.
        if (!movable(env!)) continue;
        const domains = pendingDomains(env!);
        for (const d of domains) inFlight.set(d, (inFlight.get(d) ?? 0) + 1);
        this.active += 1;
        try {
          await this.attempt(env!, ctx);
        } catch (err) {
          // Cut short or grown on disk since it was queued: set aside, never sent as it is now.
          if (!(err instanceof DamagedMessage)) throw err;
          this.deps.log.critical(`Damaged message: ${this.deps.spool.setAside(err.mid, err.why)}`);
        } finally {
          this.active -= 1;
          for (const d of domains) inFlight.set(d, inFlight.get(d)! - 1);
        }
      }
    };
    // Messages delivered at the same time, each on its own connection (queueconfig --max-deliveries).
    // No more workers than due messages: a pass often finds one or two, and each worker is an async
    // function with its closures (50 of them per pass were the delivery side's largest allocation).
    await Promise.all(Array.from({ length: Math.min(config.queue.maxDeliveries, due.length) }, worker));
  }

  /**
   * The delivery context (trust anchors, client certificate, kept sessions) of `config`, read from
   * disk once per configuration: what it reads is fixed by the configuration (content-addressed CA
   * bundles and keys). A new configuration (commit, rollback) closes the sessions kept under the old
   * one, which may have had other routes or TLS settings.
   */
  private contextFor(config: Config): Promise<AttemptContext> {
    if (this.inForce?.config !== config) {
      this.connections.closeAll();
      // New routes or settings: a destination down under the old ones is tried afresh.
      this.dead.clear();
      this.unpark();
      const ctx = this.context(config).then((c) => ({ ...c, connections: this.connections, ipSlots: this.ipSlots, ...(this.deps.reports ? { reports: this.deps.reports } : {}) }));
      // A failed read (a missing key) is tried again on the next pass, not remembered.
      ctx.catch(() => {
        if (this.inForce?.ctx === ctx) this.inForce = undefined;
      });
      this.inForce = { config, ctx };
    }
    return this.inForce.ctx;
  }

  async context(config: Config): Promise<AttemptContext> {
    // Without a SETUP certificate, outbound TLS presents the demo certificate, as the appliance does.
    const presented = await presentedCredentials(this.deps.paths, config, config.delivery.certificate);
    return {
      config,
      log: this.deps.log,
      ids: this.deps.ids,
      hostname: config.hostname,
      trusted: await trustedCas(this.deps.paths, config),
      dns: this.deps.dns(config),
      ...(this.deps.mtaSts ? { mtaSts: this.deps.mtaSts } : {}),
      ...(presented ? { clientCert: { key: presented.key, cert: presented.cert } } : {}),
    };
  }

  private async attempt(env: Envelope, ctx: AttemptContext): Promise<void> {
    const config = ctx.config;
    const started = Date.now();
    const states = recipientStates(env);
    const message = await this.deps.spool.read(env.mid);
    const byDomain = new Map<string, { rid: number; address: string }[]>();
    env.to.forEach((address, rid) => {
      if (states[rid]!.status !== 'pending') return;
      const list = byDomain.get(domainOf(address)) ?? [];
      list.push({ rid, address });
      byDomain.set(domainOf(address), list);
    });
    const bounced: ProfiledRecipient[] = [];
    const waiting: ProfiledRecipient[] = [];
    let retryAfter = Infinity;
    let touched = false;
    for (const [domain, all] of byDomain) {
      // The destination's settings, resolved once for this domain and handed down.
      const dest = settingsFor(config, domain);
      const tried = await this.tryDomain(env, ctx, dest, domain, all, message);
      if (!tried) continue;
      touched = true;
      for (const { rid, address } of all) {
        const outcome = tried.outcomes.get(rid)!;
        const state = states[rid]!;
        const wasHeld = tried.held.has(rid);
        if (!wasHeld) state.attempts += 1;
        const age = (Date.now() - Date.parse(env.receivedAt)) / 1000;
        state.lastResponse = outcome.text;
        const next = nextState(outcome, {
          attempts: state.attempts,
          ageMs: Date.now() - Date.parse(env.receivedAt),
          bounce: dest.bounce,
          ...(wasHeld ? { waitSeconds: tried.heldWait ?? this.rate.waitSeconds(domain, dest.recipientLimit!) } : {}),
        });
        switch (next.state) {
          case 'delivered':
            state.status = 'delivered';
            this.deps.metrics?.recipient('delivered', age);
            break;
          case 'bounce':
          case 'expire':
            state.status = 'bounced';
            bounced.push({ address, outcome: next.outcome, profile: dest.bounce });
            this.deps.metrics?.recipient('bounced', age);
            this.deps.log.info(`Bounced: MID ${env.mid} RID [${rid}] - ${next.outcome.text}`);
            break;
          case 'retry':
            retryAfter = Math.min(retryAfter, next.waitSeconds);
            waiting.push({ address, outcome, profile: dest.bounce });
            if (!wasHeld) this.deps.metrics?.recipient('deferred', age);
            this.deps.log.info(`Delayed: MID ${env.mid} RID [${rid}] - ${outcome.text}; retry in ${next.waitSeconds} s`);
        }
      }
    }
    // Every destination of this message was down: nothing was tried, so nothing is written.
    if (!touched) return;
    env.recipients = states;
    env.attempts += 1;
    if (await sendBounces(this.progress, env, message, bounced)) this.again = true;
    if (await sendDelayWarnings(this.progress, env, message, waiting, Date.now())) this.again = true;
    // A commit (new routes, new settings) or a deliverynow while this attempt was under way: what
    // it found is out of date, so the message is tried again at once, not after the wait it set.
    const configChanged = this.deps.config() !== config;
    if (Number.isFinite(retryAfter) && (configChanged || this.retryNowAt >= started)) {
      this.deps.log.info(`MID ${env.mid}: ${configChanged ? 'the configuration changed' : 'deliverynow was asked'} during this attempt; it is tried again now`);
      retryAfter = 0;
      this.again = true;
    }
    env.nextAttemptAt = new Date(Date.now() + (Number.isFinite(retryAfter) ? retryAfter : 60) * 1000).toISOString();
    await recordProgress(this.progress, env);
    if (states.every((s) => s.status !== 'pending')) this.deps.metrics?.finished(env.listener);
  }

  /**
   * One message's recipients at one domain: admitted by the dead-destination wait and the
   * recipient limit, then the attempt. Undefined when the domain is down and the message may
   * still wait; else every recipient's outcome (`held`: kept back by the recipient limit, or by
   * limits per MX IP, then for `heldWait` seconds).
   */
  private async tryDomain(
    env: Envelope,
    ctx: AttemptContext,
    dest: DestinationSettings,
    domain: string,
    all: { rid: number; address: string }[],
    message: Buffer,
  ): Promise<{ outcomes: Map<number, Outcome>; held: Set<number>; heldWait?: number } | undefined> {
    const old = expired(Date.now() - Date.parse(env.receivedAt), dest.bounce);
    // Alerts bypass destination controls (and the dead-destination wait): they must get out.
    const admission = env.alert ? 'go' : this.dead.admit(domain);
    if (admission === 'wait' && !old) return undefined;
    const takenAt = Date.now();
    // Limits per MX IP: the recipient limit is counted per address, as the delivery picks them.
    const gate = dest.limitType === 'mx-ip' && dest.recipientLimit && !env.alert ? this.rate.perAddress(domain, dest.recipientLimit) : undefined;
    const granted = env.alert || gate ? all.length : this.rate.take(domain, dest.recipientLimit, all.length, takenAt);
    const recipients = all.slice(0, granted);
    const held = new Set(all.slice(granted).map((r) => r.rid));
    let result: AttemptResult;
    const began = performance.now();
    try {
      result =
        admission === 'wait'
          ? { outcomes: new Map(recipients.map((r) => [r.rid, localReply('temporary', STATUS.noAnswer, `${domain} is down`)])) }
          : recipients.length
            ? await deliverToDomain(ctx, dest, env.mid, this.envelopeSender(ctx.config, dest, env), recipients, domain, message, env, gate)
            : { outcomes: new Map<number, Outcome>() };
    } finally {
      if (admission === 'probe') this.dead.release(domain);
    }
    if (result.busy) {
      // Every MX address had its connections or its recipients (limits per MX IP): nothing was
      // tried, so nothing is counted or judged; the recipients wait, as for a recipient limit.
      for (const r of recipients) held.add(r.rid);
      if (dest.recipientLimit && !env.alert && !gate) this.rate.giveBack(domain, recipients.length, takenAt);
      return { outcomes: result.outcomes, held, heldWait: result.waitSeconds ?? 1 };
    }
    if (admission !== 'wait' && recipients.length) {
      // Whether a destination is down is judged under the configuration in force (a commit may have routed it elsewhere).
      if (this.deps.config() === ctx.config) this.health(domain, result.unreachable, dest.bounce, admission === 'probe');
      const delivered = recipients.some((r) => result.outcomes.get(r.rid)?.kind === 'delivered');
      const tls = delivered ? (result.tls ?? 'clear') : 'failed';
      this.tlsOutcomes.record(tls);
      this.deps.metrics?.attempt(tls, result.failures ?? [], (performance.now() - began) / 1000);
      // A REQUIRETLS message held back says nothing about the partner's TLS (tlsreport's evidence).
      if (!env.alert && !(env.requireTls && !delivered)) {
        this.deps.statistics?.message(domain, tls, delivered && result.verifiable === true, delivered ? result.mxHost : undefined);
        for (const why of result.failures ?? []) this.deps.statistics?.failure(domain, why);
      }
    }
    if (!env.alert) await this.alertOn(ctx.config, env.mid, domain, result);
    for (const rid of held) result.outcomes.set(rid, localReply('temporary', STATUS.congested, `recipient limit for ${domain} reached (${limitText(dest.recipientLimit!)})`));
    // Recipients an address had no room for (limits per MX IP) try again soon: another address may have it.
    for (const rid of result.overLimit ?? []) held.add(rid);
    return { outcomes: result.outcomes, held, ...(result.overLimit?.length ? { heldWait: 1 } : {}) };
  }

  /** The MAIL FROM address: tagged (bvconfig) where the destination asks for bounce verification; alerts and bounces are not. */
  private envelopeSender(config: Config, dest: DestinationSettings, env: Envelope): string {
    const key = taggingKey(config.bounceVerification);
    if (!dest.bounceVerification || !key || env.alert) return env.from;
    const tagged = tagSender(env.from, key);
    if (tagged !== env.from) this.deps.log.info(`MID ${env.mid} bounce verification: envelope sender tagged as <${tagged}>`);
    return tagged;
  }

  /** The alerts an attempt calls for (alertconfig / destconfig setup): DANE failed, required TLS failed. */
  private async alertOn(config: Config, mid: number, domain: string, result: AttemptResult): Promise<void> {
    if (result.daneFailure && config.delivery.alertOnDaneFailure) {
      await this.deps.alerts.raise({
        cls: 'delivery',
        severity: 'warning',
        summary: `DANE verification failed for every MX host of ${domain}`,
        details: `Delivery of MID ${mid} to ${domain} needs DANE, and no mail exchanger passed it:\r\n${result.daneFailure}\r\nThe message stays in the queue and is retried (bounced when it expires).`,
        key: `dane:${domain}`,
      });
    }
    if (result.requiredTlsFailure && config.delivery.alertOnRequiredTlsFailure) {
      await this.deps.alerts.raise({
        cls: 'system',
        severity: 'warning',
        summary: `A required TLS connection to ${domain} failed`,
        details: `Delivery of MID ${mid} to ${domain} needs TLS, and it could not be used:\r\n${result.requiredTlsFailure}\r\nThe message stays in the queue and is retried.`,
        key: `tls-required:${domain}`,
      });
    }
  }

  private unpark(): void {
    this.parked.clear();
    this.parkedMids.clear();
  }

  /** Mark a destination down, or up again, by what its attempt found; say so in the mail log. */
  private health(domain: string, unreachable: string | undefined, backoff: { retryInitialSeconds: number; retryMaxSeconds: number }, probe: boolean): void {
    if (unreachable === undefined) {
      if (this.dead.reachable(domain)) {
        this.deps.log.info(`Destination ${domain} is reachable again; its waiting messages are delivered now`);
        this.again = true;
      }
      return;
    }
    const marked = this.dead.unreachable(domain, unreachable, { initialSeconds: backoff.retryInitialSeconds, maxSeconds: backoff.retryMaxSeconds }, probe);
    if (marked) this.deps.log.info(`Destination ${domain} ${marked.first ? 'is down' : 'is still down'} (${unreachable}); its messages wait ${marked.seconds} s, then one of them probes it`);
  }
}
