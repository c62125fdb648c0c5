import os from 'node:os';
import { ensureDir } from '../store/atomic.js';
import type { DataPaths } from '../store/paths.js';
import { type CertificateProfile, type Config, ConfigError, validateConfig } from '../store/schema.js';
import { type Issued, renewAcmeProfile, renewedProfile } from '../store/certificates/acme.js';
import type { TlsMaterial } from './listener/smtpListener.js';
import { keyMatches, parsePrivateKey } from '../pki/certificate.js';
import { presentedCredentials, readKey, readTsigKey } from '../store/certificates/keys.js';
import { readBundle } from '../store/certificates/caBundles.js';
import { initialConfig } from './demo.js';
import { VersionStore, type VersionMeta } from '../store/versions.js';
import { VERSION } from '../version.js';
import { ControlError, ControlServer } from '../control/server.js';
import type { EngineStatus, Handlers, OperationTable, Params, Principal, Results } from '../control/protocol.js';
import { admit, checkCommit } from './authorize.js';
import { IdAllocator } from './ids.js';
import { acquirePidLock } from './lock.js';
import { ApplyError } from './bindings.js';
import { AcmeError } from './acme/client.js';
import { Http01Responder } from './acme/http01.js';
import { AcmeService } from './acme/service.js';
import { RenewalError, RenewalService } from './acme/renewal.js';
import { CommitConfirmation, unconfirmedReason } from './commitConfirmation.js';
import { DomainTlsStatistics } from './delivery/domainTlsStatistics.js';
import { tlsStatisticsReport } from './tlsStatisticsReport.js';
import { lockOutProblems } from './lockout.js';
import { bindProblems } from './commitCheck.js';
import { listenerNotes } from '../store/listeners/firstSteps.js';
import type { PendingConfirmation } from '../control/status.js';
import { ListenerManager } from './listener/manager.js';
import { MailLog } from './log/mailLog.js';
import { Spool } from './queue/spool.js';
import { DeliveryScheduler } from './delivery/scheduler.js';
import { tlsVerify } from './delivery/tlsverify.js';
import { daneVerify } from './delivery/daneverify.js';
import { reverseLookup } from './dns/resolvers.js';
import { expiryAlerts } from './alerts/certificateExpiry.js';
import { AlertService } from './alerts/alerts.js';
import { MtaStsService, type StsSources } from './mtasts/service.js';
import { TlsReportRecorder } from './tlsrpt/recorder.js';
import { TlsReportService } from './tlsrpt/service.js';
import { dnsClientFor } from './dns/resolvers.js';
import { DnsCache } from './dns/cache.js';
import { resolverProblems } from './dns/resolverCheck.js';
import { systemCas, trustedCas } from '../store/certificates/trust.js';
import { enqueueGenerated, type Envelope } from './queue/spool.js';
import { InboundTlsStatistics } from './listener/inboundTlsStatistics.js';
import { checkDataDirectory } from './dataDirectory.js';
import { upgradeDataDirectory } from '../store/dataFormat.js';
import { removeLitter } from '../store/atomic.js';
import { StorageGuard } from './queue/storage.js';
import { hasControlCharacters, MAX_COMMENT_CHARS } from '../store/text.js';
import path from 'node:path';
import { LoginGuard } from '../access/loginGuard.js';
import type { FrontEnd, FrontEndFactory, ScrapeAnswer, ScrapeRequest } from './frontEnds.js';
import { TicketKeys } from './tls/ticketKeys.js';
import { HostCounter } from './listener/hostSlots.js';
import { WorkerPool } from './workers/pool.js';
import { AppliedElsewhere, ClusterMember, type MemberHost, NoChanges, StaleVersion } from './cluster/member.js';
import { type ClusterDocument, levelText, overriddenChanges, setAtLevel, withGroup, withMachineInGroup, withoutGroup } from '../store/cluster/levels.js';
import { ClusterUnavailable } from './cluster/clusterStore.js';
import { EngineMetrics } from './metrics/engineMetrics.js';
import { LogPushes } from './log/logPushes.js';
import { judgeScrape } from '../store/metrics/access.js';
import { UserError } from '../userError.js';

/**
 * The running appliance: committed configuration, listeners, queue, mail log and the control
 * socket the shell talks to.
 */
export class Engine {
  private readonly store: VersionStore;
  private readonly log: MailLog;
  private readonly spool: Spool;
  private readonly ids: IdAllocator;
  private readonly listeners: ListenerManager;
  private readonly workers: WorkerPool;
  private readonly control: ControlServer;
  private readonly delivery: DeliveryScheduler;
  private readonly alerts: AlertService;
  private readonly mtaSts: MtaStsService;
  private readonly reports: TlsReportRecorder;
  private readonly statistics: DomainTlsStatistics;
  private readonly inbound: InboundTlsStatistics;
  private readonly tlsrpt: TlsReportService;
  private readonly http01: Http01Responder;
  private readonly acme: AcmeService;
  private readonly renewals: RenewalService;
  private readonly confirmation: CommitConfirmation;
  private readonly storage: StorageGuard;
  /** The Prometheus metrics (/metrics on the HTTPS interfaces that have it on). */
  private readonly metrics: EngineMetrics;
  /** The syslog receivers the logs are pushed to (logconfig --syslog). */
  private readonly pushes: LogPushes;
  /** The HTTPS interface and SSH, built by the composition root: the engine knows them only as FrontEnds. */
  private readonly frontEnds: FrontEnd[];
  /** Failed logins count across the GUI and SSH: five wrong passwords lock the account on both. */
  private readonly loginGuard = new LoginGuard();
  private readonly ticketKeys = new TicketKeys();
  /** The once-a-minute housekeeping: MTA-STS refresh, TLS reports. */
  private minuteTimer: NodeJS.Timeout | undefined;
  private releaseLock: (() => Promise<void>) | undefined;
  private readonly startedAt = new Date();
  /** Certificate expiry alerts already raised (certificate and stage), so each goes out once. */
  private readonly expiryAlerted = new Set<string>();
  /** Commits are applied one at a time. */
  private commitChain: Promise<unknown> = Promise.resolve();
  private stopping: Promise<void> | undefined;
  /** What the last check of the resolvers found (dns/resolverCheck.ts): status shows it. */
  private dnsProblems: string[] = [];
  /** Every DNS answer the engine gets, while its TTL lasts (dns/cache.ts); dnsflush empties it. */
  private readonly dnsCache = new DnsCache<unknown>();
  /** The cluster this machine is a member of (clusterconfig); absent when standalone. */
  private cluster: ClusterMember | undefined;
  /** Set when the engine stops: the cluster's etcd is about to close, nothing more is shared. */
  private clusterClosing = false;
  /** Where the TLS counts are shared: the cluster's pool while this machine is a member. */
  private readonly statisticsPool = () => (this.clusterClosing ? undefined : this.cluster?.tlsStatistics);
  /** What a cluster member needs of this engine: the one apply path and a few facts. */
  private readonly memberHost: MemberHost;
  private startupProblem: string | undefined;
  /** Resolves once the engine has stopped (after a stop request or a signal). */
  readonly stopped: Promise<void>;
  private markStopped!: () => void;

  constructor(
    private readonly paths: DataPaths,
    frontEnds: FrontEndFactory = () => [],
  ) {
    this.store = new VersionStore(paths);
    this.log = new MailLog(paths.mailLogs);
    this.spool = new Spool(paths.queue);
    this.ids = new IdAllocator(path.join(paths.queue, 'ids.json'));
    this.storage = new StorageGuard(paths.queue, () => this.store.current.config.queue.reserveMb);
    this.log.onTrouble = (trouble) => this.logTrouble(trouble);
    this.pushes = new LogPushes((level, text) => this.log.write(level, text));
    this.log.observe = (level, text) => this.pushes.send('mail_logs', level, text);
    const hosts = new HostCounter();
    const reverse = (ip: string) => reverseLookup(this.store.current.config, ip, this.dnsCache);
    this.inbound = new InboundTlsStatistics(paths.cache, (m) => this.log.warning(m), Date.now, () => this.statisticsPool());
    this.metrics = new EngineMetrics({
      config: () => this.store.current.config,
      queue: () => this.spool.size,
      oldestReceivedAt: () => this.spool.oldestReceivedAt(),
      workers: () => this.workers.health(),
      droppedLogLines: () => this.pushes.dropped(),
    });
    const connected = (listener: string) => this.metrics.connected(listener);
    const queued = (envelope?: Envelope) => {
      if (envelope) {
        this.inbound.message(envelope);
        this.metrics.queued(envelope);
      }
      this.delivery.kick();
    };
    const tlsFailed = (address: string, reason: 'handshake failed' | 'no STARTTLS') => this.inbound.failure(address, reason);
    this.workers = new WorkerPool({
      log: this.log,
      ids: this.ids,
      hosts,
      spool: this.spool,
      queued,
      tlsFailed,
      connected,
      reverse,
      settings: (config = this.store.current.config) => ({ hostname: config.hostname, reserveMb: config.queue.reserveMb, queueDir: paths.queue, logHealthy: this.log.healthy }),
      ticketKey: () => this.ticketKeys.current,
    });
    this.listeners = new ListenerManager(
      {
        storage: this.storage,
        log: this.log,
        spool: this.spool,
        ids: this.ids,
        hosts,
        hostname: () => this.store.current.config.hostname,
        queued,
        tlsFailed,
        connected,
        reverse,
        ticketKeys: this.ticketKeys,
      },
      this.workers,
    );
    this.memberHost = {
      paths,
      running: () => this.store.current.config,
      apply: async (config, meta) => {
        await this.checkKeys(config);
        await this.install(config, meta, undefined);
      },
      queueSize: () => this.spool.size.messages,
      departed: () => {
        this.cluster = undefined;
      },
      unconfirmed: (p, version) => void this.saidUnconfirmed(p, version, 'Cluster version', 'The cluster'),
      log: { info: (m) => this.log.info(m), warning: (m) => this.log.warning(m), critical: (m) => this.log.critical(m) },
    };
    this.alerts = new AlertService({ paths, spool: this.spool, ids: this.ids, log: this.log, config: () => this.store.current.config, queued: () => this.delivery.kick() });
    this.mtaSts = new MtaStsService(path.join(paths.cache, 'mta-sts'), this.log, Date.now, undefined, () => this.cluster?.stsCache);
    this.reports = new TlsReportRecorder(path.join(paths.cache, 'tlsrpt'), (m) => this.log.warning(m), Date.now, () => {
      // In a cluster, sessions go to the cluster's pool as they are written (kept here while reports are off).
      if (this.store.current.config.tlsrpt.enabled) void this.tlsrpt.contribute();
    });
    this.statistics = new DomainTlsStatistics(path.join(paths.cache, 'tls-statistics.json'), Date.now, (m) => this.log.warning(m), () => this.statisticsPool());
    this.delivery = new DeliveryScheduler({ paths, spool: this.spool, log: this.log, ids: this.ids, config: () => this.store.current.config, alerts: this.alerts, mtaSts: this.mtaSts, reports: this.reports, statistics: this.statistics, metrics: this.metrics, dns: (config) => dnsClientFor(config, this.dnsCache, undefined, this.metrics.dnsLookup) });
    this.tlsrpt = new TlsReportService({
      recorder: this.reports,
      log: this.log,
      config: () => this.store.current.config,
      dns: (config) => dnsClientFor(config, this.dnsCache),
      trusted: (config) => trustedCas(paths, config),
      enqueue: async (from, to, data) => {
        const mid = await enqueueGenerated(this.spool, this.ids, { listener: 'tlsrpt', hostname: this.store.current.config.hostname, from, to: [to] }, data);
        this.delivery.kick();
        return mid;
      },
      shared: () => this.cluster?.tlsReports,
    });
    this.http01 = new Http01Responder((address, why) => this.log.warning(`ACME HTTP-01: connection from ${address} refused: ${why}`));
    this.acme = new AcmeService({ paths, log: this.log, config: () => this.store.current.config, responder: this.http01 });
    this.renewals = new RenewalService({
      paths,
      log: this.log,
      acme: this.acme,
      config: () => this.store.current.config,
      dns: (config) => dnsClientFor(config),
      commit: (name, issued, comment) => this.renewalCommit(name, issued, comment),
      renewsHere: () => (this.cluster ? (name) => this.member().renewsHere(name) : undefined),
      alert: (alert) => this.alerts.raise(alert),
      commitBlocked: () => {
        const p = this.pendingConfirmation();
        return p ? `configuration version ${p.version} waits for confirmation ("commit confirm") until ${p.deadline}` : undefined;
      },
    });
    this.confirmation = new CommitConfirmation({ file: path.join(paths.configDir, 'confirmation.json'), log: this.log, rollBack: (p) => this.rollBackUnconfirmed(p) });
    this.control = new ControlServer(paths.socket, this.operations);
    this.frontEnds = frontEnds({ paths, operations: this.operations, committed: () => this.store.current, guard: this.loginGuard, ticketKeys: this.ticketKeys, scrape: (r) => this.scrape(r), pushLog: (log, level, text) => this.pushes.send(log, level, text) });
    this.stopped = new Promise((resolve) => (this.markStopped = resolve));
  }

  /** /metrics: the text, when the request may read it (metricsconfig, interfaceconfig --metrics). */
  private async scrape(request: ScrapeRequest): Promise<ScrapeAnswer> {
    const verdict = judgeScrape(this.store.current.config, request);
    if (!verdict.ok) {
      return { status: verdict.status, body: verdict.status === 404 ? 'No such page.\n' : 'The metrics need a token (Authorization: Bearer, see metricsconfig) or an allowed address.\n' };
    }
    const { contentType, text } = await this.metrics.exposition();
    return { status: 200, contentType, body: text };
  }

  async start(): Promise<void> {
    process.umask(0o077);
    await checkDataDirectory(this.paths);
    for (const dir of [this.paths.home, this.paths.run, this.paths.logs, this.paths.keys, this.paths.cache, this.paths.configuration]) {
      await ensureDir(dir);
    }
    this.releaseLock = await acquirePidLock(this.paths.pidFile);
    try {
      this.log.open();
      const upgraded = await upgradeDataDirectory(this.paths, VERSION);
      if (upgraded) this.log.info(`Start-up: ${upgraded}`);
      const head = await this.store.open(() => initialConfig(this.paths));
      this.log.configure(head.config.logs);
      await this.applyLogPushes(head.config);
      await this.reports.load();
      await this.statistics.open();
      await this.inbound.open();
      await this.mtaSts.load();
      const repairs = [...this.store.repairs, ...(await this.spool.open())];
      for (const dir of [this.paths.home, this.paths.keys, path.join(this.paths.cache, 'mta-sts'), path.join(this.paths.cache, 'tlsrpt')]) {
        for (const n of await removeLitter(dir)) repairs.push(`removed ${path.relative(this.paths.home, path.join(dir, n))}, left by an interrupted write`);
      }
      const idRepair = this.ids.open((await this.spool.list()).map((e) => e.mid));
      if (idRepair) repairs.push(idRepair);
      for (const r of repairs) this.log.warning(`Start-up repair: ${r}`);
      this.log.info(`mxgate ${VERSION} engine starting (pid ${process.pid}), configuration version ${head.version}, ${this.spool.size.messages} message(s) in the queue`);
      // Start what can run; the engine stays up so the administrator can fix the rest from the shell.
      const material = await this.tlsMaterial(head.config).catch((err: Error) => {
        this.log.critical(`Certificates of configuration version ${head.version} cannot be read: ${err.message}; STARTTLS is off`);
        return new Map<string, TlsMaterial>();
      });
      const failures = await this.listeners.apply(head.config, material, { bestEffort: true });
      failures.push(...(await this.http01.apply(head.config, { bestEffort: true })));
      for (const f of this.frontEnds) {
        try {
          f.open?.();
          failures.push(...(await f.apply(head.config, { bestEffort: true })));
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
      if (failures.length) {
        this.startupProblem = failures.join('; ');
        for (const f of failures) this.log.critical(`Committed configuration version ${head.version} not fully applied: ${f}`);
      }
      this.cluster = await ClusterMember.open(this.memberHost).catch((err: Error) => {
        this.log.critical(`Cluster: ${err.message}; this machine runs its last applied configuration`);
        return undefined;
      });
      if (!this.cluster) await this.confirmation.open();
      await this.control.listen();
      await this.renewals.open();
      this.delivery.start();
      this.ticketKeys.start((key) => {
        this.listeners.setTicketKeys(key);
        for (const f of this.frontEnds) f.setTicketKeys?.(key);
      });
      void this.checkCertificateExpiry();
      void this.checkResolvers(this.store.current.config, { quietIfSilent: true });
      this.minuteTimer = setInterval(() => void this.everyMinute(), 60_000).unref();
    } catch (err) {
      await this.listeners.closeAll();
      await this.http01.close();
      for (const f of this.frontEnds) await f.closeAll();
      await this.releaseLock();
      throw err;
    }
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info('mxgate engine stopping');
      if (this.minuteTimer) clearInterval(this.minuteTimer);
      this.renewals.close();
      this.confirmation.close();
      this.ticketKeys.stop();
      await this.control.close();
      // The counts so far go to the cluster while it is open; what comes after is shared at the next start.
      await Promise.all([this.statistics.flush(), this.inbound.flush()]);
      this.clusterClosing = true;
      await this.cluster?.close();
      await this.listeners.closeAll();
      await this.http01.close();
      for (const f of this.frontEnds) await f.closeAll();
      await this.delivery.stop();
      await this.reports.flush();
      await this.statistics.close();
      await this.inbound.close();
      this.log.flush();
      this.pushes.closeAll();
      this.log.close();
      await this.releaseLock?.();
      this.markStopped();
    })();
    return this.stopping;
  }

  /** The syslog receivers of a configuration; a TLS receiver is checked against its trusted CA lists. */
  private async applyLogPushes(config: Config): Promise<void> {
    const needsCas = Object.values(config.logs.syslog).some((url) => url?.startsWith('tcp+tls:'));
    const ca = needsCas
      ? await trustedCas(this.paths, config).catch((err: Error) => {
          this.log.warning(`Syslog push: the trusted CA lists cannot be read (${err.message}); no TLS receiver will be trusted`);
          return [];
        })
      : [];
    this.pushes.apply(config, ca);
  }

  /** SIGHUP (systemctl reload): nothing is re-read behind the administrator's back; the log says so. */
  hangUp(): void {
    this.log.info(`SIGHUP received: nothing re-read; the configuration changes only by commit (version ${this.store.current.version} runs)`);
  }

  /**
   * The mail log cannot be written (or can again): said on stderr (engine.log), shown by status,
   * and a System/Critical alert is queued when the queue can take it. New connections get 421 meanwhile.
   */
  private logTrouble(trouble: { since: string; error: string } | undefined): void {
    const line = trouble ? `the mail log cannot be written (${trouble.error}); new connections get 421 4.3.2 until it can` : 'the mail log can be written again; connections are accepted';
    process.stderr.write(`${new Date().toISOString()} mxgate engine: ${line}\n`);
    this.workers.pushSettings(); // workers refuse new connections while the log is in trouble, too
    if (!trouble) return;
    this.alerts
      .raise({ cls: 'system', severity: 'critical', summary: 'The mail log cannot be written', details: `${line}.\r\nFree space on the queue's file system: ${this.storage.state().freeMb} MB.`, key: 'mail-log' })
      .catch(() => undefined);
  }

  /** Check the resolvers against the DNSSEC mode (at start and when the DNS settings change); problems are logged and shown by status. */
  private async checkResolvers(config: Config, options: { quietIfSilent?: boolean } = {}): Promise<void> {
    const problems = await resolverProblems(config).catch((err: Error) => [`The DNS resolvers could not be checked: ${err.message}`]);
    // At start the network may not be up yet: a resolver that does not answer is shown by status, not logged.
    const news = problems.filter((x) => !this.dnsProblems.includes(x) && !(options.quietIfSilent && / does not answer /.test(x)));
    for (const p of news) this.log.warning(p);
    this.dnsProblems = problems;
  }

  /** Housekeeping that must not hold up delivery: MTA-STS policies renewed before they expire, due TLS reports. */
  private async everyMinute(): Promise<void> {
    const config = this.store.current.config;
    try {
      const sources = { dns: dnsClientFor(config, this.dnsCache), trusted: await trustedCas(this.paths, config) };
      this.log.flush(); // lines kept while the disk was full go out as soon as they can
      this.log.rotateIfDue();
      await this.mtaSts.refreshDue(sources);
      await this.tlsrpt.sendDue();
      await this.checkCertificateExpiry();
      void this.renewals.renewDue(); // an order may take a while; it must not hold up the rest
    } catch (err) {
      this.log.warning(`Housekeeping failed: ${(err as Error).message}`);
    }
  }

  /** Certificates in use close to expiry or expired: one alert each (at start, on commit, every minute). */
  private async checkCertificateExpiry(): Promise<void> {
    try {
      for (const alert of expiryAlerts(this.store.current.config, this.expiryAlerted)) {
        this.log.warning(alert.summary);
        await this.alerts.raise(alert);
      }
    } catch (err) {
      this.log.warning(`Certificate expiry check failed: ${(err as Error).message}`);
    }
  }

  status(): EngineStatus {
    const head = this.store.current;
    const pushes = this.pushes.status();
    return {
      pid: process.pid,
      account: runningAs(),
      ...(pushes.length ? { logPush: pushes } : {}),
      version: VERSION,
      startedAt: this.startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.startedAt.getTime()) / 1000),
      home: this.paths.home,
      configVersion: this.cluster ? this.cluster.status().version : head.version,
      hostname: head.config.hostname,
      listeners: this.listeners.status(),
      workers: this.workers.status(),
      https: [],
      ssh: [],
      ...Object.assign({}, ...this.frontEnds.map((f) => f.status?.() ?? {})),
      lockouts: this.loginGuard.lockouts(),
      queue: this.spool.size,
      delivery: this.delivery.activity(),
      storage: { ...this.storage.state(), mailLog: this.log.problem ? `cannot be written since ${this.log.problem.since}: ${this.log.problem.error}` : 'ok' },
      ...(this.startupProblem ? { startupProblem: this.startupProblem } : {}),
      ...(this.dnsProblems.length ? { dnsProblems: this.dnsProblems } : {}),
      ...(this.cluster ? { cluster: this.cluster.status() } : {}),
      ...(this.pendingConfirmation() ? { confirmation: this.pendingConfirmation() } : {}),
    };
  }

  /** The control operations (protocol.ts OPERATIONS): parameters arrive checked against their schema. */
  private readonly handlers: Handlers = {
    ping: () => ({ pong: true, pid: process.pid }),
    status: () => this.status(),
    config: async ({ level }) => {
      const confirmation = this.pendingConfirmation();
      const pending = confirmation ? { confirmation } : {};
      if (!this.cluster) return { ...this.store.current, ...pending };
      const view = await clusterCall(() => this.cluster!.view(level ?? { kind: 'cluster' }));
      return { ...this.store.current, ...view, cluster: this.cluster.status().name, ...pending };
    },
    history: () => (this.cluster ? clusterCall(() => this.cluster!.history()) : this.store.list()),
    version: async ({ version }) => {
      const rec = this.cluster ? await clusterCall(() => this.cluster!.versionRecord(version)) : await this.store.get(version);
      if (!rec) throw new ControlError('not-found', `There is no committed version ${version}.`);
      return rec;
    },
    commit: (req, principal) => (this.cluster ? this.clusterCommit(req, principal) : this.serialize(() => this.commit(req, principal))),
    'commit-check': (req, principal) => this.commitCheck(req, principal),
    'commit-confirm': ({ user }, principal) =>
      this.cluster ? clusterCall(() => this.member().confirm(actingUser(principal, user))) : this.serialize(async () => {
        const was = await this.confirmation.confirm();
        if (!was) throw new ControlError('no-changes', 'No commit is waiting for confirmation.');
        this.log.info(`Configuration version ${was.version} confirmed by ${actingUser(principal, user)}; it stays in service`);
        return was;
      }),
    'cluster-create': ({ name, address, user }, principal) =>
      this.serialize(() =>
        clusterCall(async () => {
          if (this.cluster) throw new UserError('This machine is already in a cluster.');
          this.refuseWhileUnconfirmed();
          this.cluster = await ClusterMember.create(this.memberHost, name, address, actingUser(principal, user));
          return this.cluster.status();
        }),
      ),
    'cluster-token': ({ ttlMinutes }) => clusterCall(() => this.member().token(ttlMinutes)),
    'cluster-join': ({ at, token, address }) =>
      this.serialize(() =>
        clusterCall(async () => {
          if (this.cluster) throw new UserError('This machine is already in a cluster; "clusterconfig leave" first.');
          this.refuseWhileUnconfirmed();
          this.cluster = await ClusterMember.join(this.memberHost, at, token, address);
          return this.cluster.status();
        }),
      ),
    'cluster-list': () => clusterCall(() => this.member().list()),
    'cluster-check': () => clusterCall(() => this.member().check()),
    'cluster-leave': ({ user }, principal) =>
      clusterCall(async () => {
        const { name } = this.member().status();
        await this.member().leave(actingUser(principal, user));
        this.cluster = undefined;
        this.log.info(`Left cluster ${name}; this machine keeps running its last applied configuration as its own`);
        return { left: name };
      }),
    'cluster-remove': ({ machine, user }, principal) =>
      clusterCall(async () => {
        if (machine.toLowerCase() === this.member().status().machine.toLowerCase()) throw new UserError('This is the machine you are logged in to: use "clusterconfig leave" to take it out of the cluster.');
        await this.member().removeMachine(machine, actingUser(principal, user));
        return { removed: machine };
      }),
    'cluster-set': ({ action, setting, from, to, user }, principal) =>
      clusterCall(async () => {
        const words = `${action} ${setting} ${levelText(from)}${to ? ` -> ${levelText(to)}` : ''}`;
        return versionMeta(await this.member().amend((d) => setAtLevel(d, action, setting, from, to), actingUser(principal, user), `clusterset ${words}`));
      }),
    'cluster-group': ({ action, group, machine, user }, principal) =>
      clusterCall(async () => {
        const change = (d: ClusterDocument) =>
          action === 'add' ? withGroup(d, group) : action === 'remove' ? withoutGroup(d, group) : withMachineInGroup(d, machine ?? '', group);
        const comment = action === 'set' ? `${machine} moved to group ${group}` : `group ${group} ${action === 'add' ? 'added' : 'removed'}`;
        return versionMeta(await this.member().amend(change, actingUser(principal, user), comment));
      }),
    stop: () => {
      setImmediate(() => void this.stop());
      return { stopping: true };
    },
    tlsverify: async ({ domain }) => {
      const config = this.store.current.config;
      const ctx = await this.delivery.context(config);
      // A disabled system list is read too, to say when it has the issuer the chain needs.
      const disabledSystem = config.certificateAuthorities.system.enabled ? undefined : await systemCas(this.paths, config).catch(() => undefined);
      return { lines: await tlsVerify({ ...ctx, connectTimeoutMs: 10_000 }, domain, disabledSystem) };
    },
    daneverify: async ({ domain }) => {
      const ctx = await this.delivery.context(this.store.current.config);
      return daneVerify({ ...ctx, connectTimeoutMs: 10_000 }, domain);
    },
    'acme-account': (request) => acmeCall(() => this.acme.newAccount(request)),
    'acme-order': (request) => acmeCall(() => this.acme.order(request)),
    'acme-renew': ({ name }) => acmeCall(async () => ({ line: await this.renewals.renewNow(name) })),
    'acme-status': () => this.renewals.status(),
    recipients: () => this.delivery.admin.recipients(),
    'tls-outcomes': () => this.delivery.tlsOutcomes.last24Hours(),
    'tls-statistics': (request) => {
      const config = this.store.current.config;
      let sources: Promise<StsSources> | undefined;
      const stsPolicy = async (domain: string) => {
        sources ??= this.delivery.context(config).then((ctx) => ({ dns: ctx.dns, trusted: ctx.trusted }));
        return (await this.mtaSts.policyFor(domain, await sources)).policy;
      };
      return tlsStatisticsReport(request, { outbound: this.statistics, inbound: this.inbound, delivery: config.delivery, ...(this.cluster ? { pool: this.cluster.tlsStatistics } : {}), stsPolicy });
    },
    'ssh-hostkeys': async () => (await Promise.all(this.frontEnds.map((f) => f.fingerprints?.() ?? []))).flat(),
    bounce: async ({ mid, domain, sender }) => ({ recipients: await this.delivery.admin.bounceRecipients({ mid, domain, sender }) }),
    alerts: () => this.alerts.recent(),
    mtasts: () => this.mtaSts.status(),
    'tlsrpt-send': async () => ({ lines: await this.tlsrpt.sendNow() }),
    deliverynow: async ({ domain }) => ({ messages: await this.delivery.admin.deliverNow(domain) }),
    dnsflush: () => {
      const flushed = this.dnsCache.flush();
      this.log.info(`DNS cache cleared (${flushed} answers)`);
      return { flushed };
    },
    unlock: ({ account }) => ({ lifted: this.loginGuard.unlock(account.toLowerCase()) }),
  };

  private member(): ClusterMember {
    if (!this.cluster) throw new ControlError('not-found', 'This machine is not in a cluster: "clusterconfig create" or "clusterconfig join" first.');
    return this.cluster;
  }

  /** A commit in a cluster: placed at the session's level, one winner among members, applied everywhere. */
  private async clusterCommit(req: Params<'commit'>, principal: Principal): Promise<Results['commit']> {
    const { draft, user, comment } = commitRequest(req, principal);
    const { doc, notes } = await clusterCall(() =>
      this.cluster!.commit(
        { level: req.level ?? { kind: 'cluster' }, baseVersion: req.baseVersion, draft, user, comment, ...(req.rollbackTo ? { rollbackTo: req.rollbackTo } : {}), ...(req.confirmMinutes ? { confirmMinutes: req.confirmMinutes } : {}) },
        (from, to) => checkCommit(principal, from, to),
        (from, to) => this.checkLockOut(req, principal, from, to),
      ),
    );
    if (doc.confirmation) this.log.warning(`Cluster version ${doc.version} is in service until ${doc.confirmation.deadline}: unless confirmed ("commit confirm") by then, the cluster goes back to version ${doc.confirmation.previous}`);
    return { ...versionMeta(doc), ...(notes.length ? { notes } : {}), ...(doc.confirmation ? { confirmation: doc.confirmation } : {}) };
  }

  /** The handlers with the one check of who may run them (access/authorize.ts), for every transport. */
  private readonly operations: OperationTable = { handlers: this.handlers, admit: (principal, op) => admit(this.store.current.config, principal, op) };

  /**
   * The certificate each listener presents: its profile, or the demo certificate when it has none.
   * A listener with neither offers no STARTTLS at all (never a library's built-in certificate).
   */
  private async tlsMaterial(config: Config): Promise<Map<string, TlsMaterial>> {
    const out = new Map<string, TlsMaterial>();
    for (const l of config.listeners) {
      const material = await presentedCredentials(this.paths, config, l.certificate);
      if (material) out.set(l.name, material);
    }
    return out;
  }

  /** Every certificate profile must have its private key on disk, and it must match; TSIG keys and bundles must exist. */
  private async checkKeys(config: Config): Promise<void> {
    const problems: string[] = [];
    for (const p of config.certificates) {
      try {
        if (!keyMatches(p.certificate, parsePrivateKey(await readKey(this.paths, p.keyRef)))) problems.push(`certificate profile "${p.name}": the certificate does not match its private key`);
      } catch (err) {
        problems.push(`certificate profile "${p.name}": ${(err as Error).message}`);
      }
    }
    for (const u of config.dns.updateServers) {
      await readTsigKey(this.paths, u.keyRef).catch((err: Error) => problems.push(`update server ${u.zone}: ${err.message}`));
    }
    const bundle = config.certificateAuthorities.system.bundle;
    if (bundle) await readBundle(this.paths, bundle.sha256).catch(() => problems.push(`the system CA bundle ${bundle.sha256.slice(0, 16)}… is missing`));
    if (problems.length) throw new ControlError('invalid', `The configuration is not valid:\n  ${problems.join('\n  ')}`);
  }

  /** What a commit applies, in order: the SMTP listeners, the ACME HTTP-01 responders, the HTTPS interface, the SSH service. */
  private services(): ((config: Config) => Promise<unknown>)[] {
    return [
      async (config) => this.listeners.apply(config, await this.tlsMaterial(config)),
      (config) => this.http01.apply(config),
      ...this.frontEnds.map((f) => (config: Config) => f.apply(config)),
    ];
  }

  /**
   * A change the engine makes itself (an ACME renewal): recorded as the next version and put in
   * service like a commit, after the commits before it; in a cluster, a cluster version made at
   * the level that sets the profile. Returns the version.
   */
  private renewalCommit(name: string, issued: Issued, comment: string): Promise<number> {
    if (this.cluster) return this.cluster.changeCertificate(name, (p: CertificateProfile) => renewedProfile(p, issued), 'acme', comment);
    return this.serialize(async () => {
      const config = renewAcmeProfile(this.store.current.config, name, issued);
      await this.checkKeys(config);
      return (await this.install(config, { user: 'acme', comment }, undefined)).version;
    });
  }

  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.commitChain.then(task, task);
    this.commitChain = run.catch(() => undefined);
    return run;
  }

  /** Stale base → refuse; invalid → refuse; apply; and only then record the new version. */
  private async commit(req: Params<'commit'>, principal: Principal): Promise<VersionMeta> {
    const head = this.store.current;
    if (req.baseVersion !== head.version) {
      throw new ControlError(
        'stale',
        `The configuration was committed by ${head.user} at ${head.time} (version ${head.version}) after your changes were started from version ${req.baseVersion}.`,
      );
    }
    const { draft: config, user, comment } = commitRequest(req, principal);
    if (JSON.stringify(config) === JSON.stringify(head.config)) throw new ControlError('no-changes', 'There is no data to commit.');
    checkCommit(principal, head.config, config);
    this.checkLockOut(req, principal, head.config, config);
    await this.checkKeys(config);
    const rec = await this.install(config, { user, comment }, principal);
    const { config: _c, ...meta } = rec;
    let confirmation: PendingConfirmation | undefined;
    if (req.confirmMinutes) {
      confirmation = await this.confirmation.start(rec.version, head.version, req.confirmMinutes, user);
      this.log.warning(`Configuration version ${rec.version} is in service until ${confirmation.deadline}: unless confirmed ("commit confirm") by then, the appliance goes back to version ${confirmation.previous}`);
    } else {
      const was = await this.confirmation.confirm();
      if (was) this.log.info(`Configuration version ${was.version} confirmed by the commit of version ${rec.version} by ${user}`);
    }
    // A change of resolvers or DNSSEC mode is checked at once: the one who made it reads what is wrong.
    const notes = [...listenerNotes(head.config, config), ...(dnsChanged(head.config, config) ? this.dnsProblems : [])];
    return { ...meta, ...(notes.length ? { notes } : {}), ...(confirmation ? { confirmation } : {}) };
  }

  /** commit check: what a commit of `req.config` would find, without applying or recording it. */
  private async commitCheck(req: Params<'commit-check'>, principal: Principal): Promise<Results['commit-check']> {
    const problems: string[] = [];
    const notes: string[] = [];
    let here: { from: Config; to: Config };
    try {
      const draft = commitRequest({ ...req, comment: '' }, principal).draft;
      here = this.cluster ? await this.clusterPlan(req, principal, draft, notes) : this.localPlan(req, principal, draft, problems, notes);
    } catch (err) {
      if (err instanceof ControlError || err instanceof UserError) return { problems: [...problems, err.message], notes };
      throw err;
    }
    const { from, to } = here;
    notes.push(...listenerNotes(from, to));
    // The keys on disk, the certificates each listener would load, the ports it would bind here.
    for (const t of [() => this.checkKeys(to), () => this.tlsMaterial(to)]) {
      try {
        await t();
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    problems.push(...(await bindProblems(from, to)));
    try {
      this.checkLockOut({ ...req, comment: '' }, principal, from, to);
    } catch (err) {
      notes.push(`${(err as Error).message} Use "commit confirmed MINUTES" to have it undone unless you confirm it.`);
    }
    if (dnsChanged(from, to)) notes.push(...(await resolverProblems(to).catch((err: Error) => [`The DNS resolvers could not be checked: ${err.message}`])));
    return { problems, notes };
  }

  private localPlan(req: Params<'commit-check'>, principal: Principal, draft: Config, problems: string[], notes: string[]): { from: Config; to: Config } {
    const head = this.store.current;
    if (req.baseVersion !== head.version) problems.push(`version ${head.version} was committed by ${head.user} at ${head.time} after your changes were started from version ${req.baseVersion}: the commit would be refused`);
    if (JSON.stringify(draft) === JSON.stringify(head.config)) notes.push('There is no data to commit.');
    checkCommit(principal, head.config, draft);
    return { from: head.config, to: draft };
  }

  /** In a cluster: the version the commit would make, checked for every machine; this machine's part is tried here. */
  private async clusterPlan(req: Params<'commit-check'>, principal: Principal, draft: Config, notes: string[]): Promise<{ from: Config; to: Config }> {
    const level = req.level ?? { kind: 'cluster' as const };
    const planned = await clusterCall(() => this.member().plan({ level, baseVersion: req.baseVersion, draft, user: req.user, comment: '' }, (from, to) => checkCommit(principal, from, to)));
    notes.push(...overriddenChanges(planned.doc, planned.next, level));
    notes.push('The other members try their own ports when they apply the version.');
    return planned.here;
  }

  /**
   * A remote session's commit that would keep it from coming back (its account, or its service on
   * its address and port) is refused unless the committer said so (force) or it undoes itself
   * (commit confirmed).
   */
  private checkLockOut(req: Params<'commit'>, principal: Principal, from: Config, to: Config): void {
    if (req.force || req.confirmMinutes || principal.kind !== 'account' || !principal.session) return;
    const session = principal.session;
    const origin = this.frontEnds.map((f) => f.origin?.(session)).find((o) => o !== undefined);
    const problems = origin ? lockOutProblems(origin, from, to) : [];
    if (problems.length) throw new ControlError('lock-out', `This commit may lock you out: ${problems.join('; ')}.`);
  }

  /** The deadline of a commit confirmed passed: back to the version before it, as a new version, with an alert. */
  private rollBackUnconfirmed(p: PendingConfirmation): Promise<void> {
    return this.serialize(async () => {
      const previous = await this.store.get(p.previous);
      if (!previous) throw new Error(`version ${p.previous} cannot be read`);
      await this.checkKeys(previous.config);
      const rec = await this.install(previous.config, { user: 'system', comment: `Rollback to version ${p.previous}: ${unconfirmedReason(p)}` }, undefined);
      await this.saidUnconfirmed(p, rec.version, 'Configuration version', 'The appliance');
    });
  }

  /** Going back from an unconfirmed commit is logged and raised as a System/Warning alert. */
  private async saidUnconfirmed(p: PendingConfirmation, version: number, what: string, who: string): Promise<void> {
    this.log.warning(`${what} ${version}: back to version ${p.previous} because ${unconfirmedReason(p)}`);
    await this.alerts
      .raise({ cls: 'system', severity: 'warning', summary: `Commit not confirmed: back to version ${p.previous}`, details: `${what} ${p.version}, committed by ${p.user} with "commit confirmed ${p.minutes}", was not confirmed by ${p.deadline}.\r\n${who} went back to version ${p.previous} (recorded as version ${version}).`, key: `commit-confirm:${p.version}` })
      .catch(() => undefined);
  }

  /** A machine whose last commit may still go back by itself does not found or join a cluster with it. */
  private refuseWhileUnconfirmed(): void {
    const p = this.confirmation.pending();
    if (p) throw new UserError(`Version ${p.version} waits for confirmation until ${p.deadline}: "commit confirm" it (or let it go back) before the cluster takes this machine's configuration.`);
  }

  /** The commit confirmed that waits for confirmation: this machine's, or in a cluster the cluster's. */
  private pendingConfirmation(): PendingConfirmation | undefined {
    return this.cluster ? this.cluster.confirmation() : this.confirmation.pending();
  }

  /**
   * Apply a configuration to every service (all of it or none: the services already moved go back)
   * and only then record it as the next version. Local commits and cluster versions both come here.
   */
  private async install(config: Config, meta: { user: string; comment: string }, principal: Principal | undefined) {
    const head = this.store.current;
    const services = this.services();
    try {
      for (const [i, apply] of services.entries()) {
        try {
          await apply(config);
        } catch (err) {
          // The services already moved go back, newest first: all of the new version or none of it.
          for (const undo of services.slice(0, i).reverse()) await undo(head.config).catch(() => undefined);
          throw err;
        }
      }
      this.startupProblem = undefined;
    } catch (err) {
      if (err instanceof ApplyError) throw new ControlError('apply', err.message);
      throw err;
    }
    try {
      const rec = await this.store.record(config, meta);
      this.log.configure(config.logs);
      await this.applyLogPushes(config);
      for (const f of this.frontEnds) f.committed?.(config, principal ?? { kind: 'local', name: meta.user }, { version: rec.version, comment: meta.comment });
      this.log.info(`Configuration version ${rec.version} committed by ${meta.user}${meta.comment ? `: ${meta.comment}` : ''}`);
      this.delivery.kick();
      void this.checkCertificateExpiry();
      void this.renewals.keepRecords();
      if (dnsChanged(head.config, config)) {
        this.dnsCache.flush(); // answers judged under the old servers or anchors go
        await this.checkResolvers(config);
      }
      return rec;
    } catch (err) {
      // Could not record: go back to what is on disk so engine and store agree.
      for (const undo of services) await undo(head.config).catch(() => undefined);
      throw new ControlError('internal', `The new configuration could not be saved (${(err as Error).message}); nothing was changed.`);
    }
  }
}

/** Who a change is recorded under: an account always as itself; the local shell as the operating-system user it names. */
function actingUser(principal: Principal, requested: string | undefined): string {
  if (principal.kind === 'account') return principal.name;
  const user = requested || 'unknown';
  if (hasControlCharacters(user)) throw new ControlError('bad-request', 'The user name contains control characters; nothing was changed.');
  return user;
}

/**
 * What a commit request carries, checked the same way standalone and in a cluster: a valid
 * configuration, and who commits it. An account commits under its own name, whatever the request says.
 */
function commitRequest(req: Params<'commit'>, principal: Principal): { draft: Config; user: string; comment: string } {
  const user = actingUser(principal, req.user);
  const comment = typeof req.comment === 'string' ? req.comment : '';
  if (hasControlCharacters(comment)) throw new ControlError('bad-request', 'The comment contains control characters; nothing was committed.');
  if (comment.length > MAX_COMMENT_CHARS) throw new ControlError('bad-request', `The comment is ${comment.length} characters long (at most ${MAX_COMMENT_CHARS}); nothing was committed.`);
  try {
    return { draft: validateConfig(req.config), user, comment };
  } catch (err) {
    throw new ControlError('invalid', err instanceof ConfigError ? err.message : String(err));
  }
}

/** Did a commit change the resolvers, the DNSSEC mode or the trust anchors? */
const dnsChanged = (from: Config, to: Config) => JSON.stringify(from.dns) !== JSON.stringify(to.dns);

/** A committed cluster version as a commit's answer. */
const versionMeta = (doc: ClusterDocument): VersionMeta => ({ version: doc.version, time: doc.time, user: doc.user, comment: doc.comment });

/** A cluster operation's refusals in the control protocol's terms: one line each. */
async function clusterCall<T>(run: () => Promise<T> | T): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ControlError) throw err;
    if (err instanceof StaleVersion) throw new ControlError('stale', err.message);
    if (err instanceof NoChanges) throw new ControlError('no-changes', err.message);
    if (err instanceof AppliedElsewhere) throw new ControlError('apply', err.message);
    if (err instanceof ConfigError) throw new ControlError('invalid', err.message);
    if (err instanceof ClusterUnavailable) throw new ControlError('unavailable', `Nothing was committed or changed: ${err.message}.`);
    if (err instanceof UserError) throw new ControlError('bad-request', err.message);
    throw err;
  }
}

/** ACME failures are the administrator's to read (the CA's answer, a refused DNS update …), not internal errors. */
async function acmeCall<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof AcmeError || err instanceof RenewalError || err instanceof ConfigError) throw new ControlError('unavailable', err.message);
    throw err;
  }
}

/** The account this process runs as (a uid without a passwd entry is shown as its number). */
function runningAs(): string {
  try {
    return os.userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}
