import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import type { Etcd3, Watcher } from 'etcd3';
import type { DataPaths } from '../../store/paths.js';
import { type Config, ConfigError, validateConfig } from '../../store/schema.js';
import { credentialRefs, readKey, storeCredential } from '../../store/certificates/keys.js';
import { createClusterCa, issueMemberCertificate } from '../../pki/clusterCa.js';
import { type ClusterDocument, type Level, withoutConfirmation, type Origin, certificateLevel, effectiveConfig, levelsOf, machinesUsingCertificateAt, withCertificateAt, findMachine, newCluster, origins, overriddenChanges, ownSettings, placeEdits, problemsOfVersion, resolve, withMember, withoutMember } from '../../store/cluster/levels.js';
import { type MemberSecrets, type Membership, readMembership, removeMembership, writeMembership } from '../../store/cluster/membership.js';
import { newClusterKey, seal, tokenKey, unseal } from '../../store/cluster/vault.js';
import type { PendingConfirmation } from '../../control/status.js';
import { unconfirmedReason } from '../commitConfirmation.js';
import { UserError } from '../../userError.js';
import type { ClusterMachine, ClusterStatus, Inconsistency } from '../../control/status.js';
import { ClusterStore, ClusterUnavailable, etcdClient, type MemberReport, parseJoinOffer } from './clusterStore.js';
import { etcdMemberLabel, findInconsistencies } from './consistency.js';
import type { SharedTlsStatistics } from '../delivery/domainTlsStatistics.js';
import { sharedStsCache, sharedTlsReports, sharedTlsStatistics } from './sharedState.js';
import { clientUrl, EtcdProcess, peerUrl } from './etcdProcess.js';
import type { SharedStsCache } from '../mtasts/service.js';
import type { SharedTlsReports } from '../tlsrpt/service.js';

/** What a member needs of its engine: the one apply path of every commit, and a few facts. */
export interface MemberHost {
  paths: DataPaths;
  /** The configuration this machine runs now. */
  running(): Config;
  /** Apply a configuration and record it in the local history (the engine's commit path). */
  apply(config: Config, meta: { user: string; comment: string }): Promise<void>;
  queueSize(): number;
  /** This machine was removed from the cluster by another member: it goes on standalone. */
  departed(): void;
  /** This member took the cluster back because a commit confirmed was not confirmed in time (version: the rollback's). */
  unconfirmed(p: PendingConfirmation, version: number): void;
  log: { info(m: string): void; warning(m: string): void; critical(m: string): void };
}


const DEFAULT_PEER_PORT = 2380;
const REPORT_TTL_SECONDS = 10;
/** Reports come every 2 s; expired join offers are swept every this many. */
const SWEEP_EVERY_REPORTS = 15;
const JOIN_USER = (id: string) => `join-${id}`;

/** "IP[:PORT]" → ip, peer port (default 2380) and client port (the peer port - 1, as etcd's 2379/2380). */
export function parseAddress(text: string): { ip: string; peerPort: number; clientPort: number } {
  const m = /^\[?([0-9a-fA-F:.]+?)\]?(?::(\d{1,5}))?$/.exec(text.trim());
  const port = m?.[2] ? Number(m[2]) : DEFAULT_PEER_PORT;
  if (!m || port < 2 || port > 65535) throw new UserError(`"${text}" is not an address: give IP or IP:PORT (the etcd peer port, 2380 by default; the client port is the one below it).`);
  return { ip: m[1]!, peerPort: port, clientPort: port - 1 };
}

/**
 * The addresses a member certificate names. etcd checks that a peer connects from an address its
 * certificate names; on loopback (several members on one machine) connections come from 127.0.0.1.
 */
const certificateAddresses = (ip: string) => (ip.startsWith('127.') && ip !== '127.0.0.1' ? [ip, '127.0.0.1'] : [ip]);

/** A join token: ID.SECRET.CAHASH (the CA's SHA-256, so the joining machine knows it talks to the cluster). */
interface Token {
  id: string;
  secret: string;
  caHash: string;
}

function parseToken(text: string): Token {
  const m = /^([0-9a-f]{8})\.([0-9A-Za-z_-]{32,})\.([0-9a-f]{64})$/.exec(text.trim());
  if (!m) throw new UserError('That is not a join token: "clusterconfig token" on a member prints one.');
  return { id: m[1]!, secret: m[2]!, caHash: m[3]! };
}

interface JoinBundle {
  cluster: string;
  clusterKey: string;
  rootPassword: string;
  caCertificate: string;
  caKey: string;
}

/** The cluster CA as the member at `url` presents it, checked against the token's hash. */
async function pinnedCa(ip: string, clientPort: number, caHash: string): Promise<string> {
  const chain = await new Promise<tls.DetailedPeerCertificate>((resolve, reject) => {
    const s = tls.connect({ host: ip, port: clientPort, rejectUnauthorized: false, ALPNProtocols: ['h2'] }, () => {
      resolve(s.getPeerCertificate(true));
      s.end();
    });
    s.setTimeout(5_000, () => s.destroy(new Error('no answer within 5 s')));
    s.once('error', reject);
  }).catch((err: Error) => {
    throw new UserError(`Cannot reach the cluster member at ${ip}:${clientPort + 1} (etcd client port ${clientPort}): ${err.message}`);
  });
  for (let c: tls.DetailedPeerCertificate | undefined = chain; c; c = c.issuerCertificate === c ? undefined : c.issuerCertificate) {
    if (createHash('sha256').update(c.raw).digest('hex') === caHash) {
      return `-----BEGIN CERTIFICATE-----\n${c.raw.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;
    }
  }
  throw new UserError(`The member at ${ip}:${clientPort + 1} does not present the cluster CA of this token: wrong address, or not the cluster that made the token.`);
}

/**
 * This machine as a member of a cluster: it runs an etcd member, applies every committed cluster
 * version through its engine's commit path, commits its administrators' changes as etcd
 * transactions, and reports how it is. Standalone machines have none.
 */
/** A session's commit: its draft, the level it edits, the version it started from. */
export interface CommitRequest {
  level: Level;
  baseVersion: number;
  draft: Config;
  user: string;
  comment: string;
  rollbackTo?: number;
  /** commit confirmed MINUTES: every level goes back unless confirmed within that long. */
  confirmMinutes?: number;
}

export class ClusterMember {
  private doc: ClusterDocument | undefined;
  private applied = 0;
  private applyProblem: string | undefined;
  private reachProblem: string | undefined;
  private watcher: Watcher | undefined;
  private reportTimer: NodeJS.Timeout | undefined;
  /** Versions are applied one at a time; a burst of commits is applied as its newest. */
  private applying: Promise<void> = Promise.resolve();
  private wanted: ClusterDocument | undefined;

  /** The MTA-STS policies the members share, so the cluster fetches each once (mtasts/service.ts). */
  readonly stsCache: SharedStsCache;
  /** The members' TLS report material, reported once for the cluster (tlsrpt/service.ts). */
  readonly tlsReports: SharedTlsReports;
  /** The members' TLS counts, so tlsreport shows the cluster's deliveries (delivery/domainTlsStatistics.ts). */
  readonly tlsStatistics: SharedTlsStatistics;

  private constructor(
    private readonly host: MemberHost,
    private membership: Membership,
    private readonly secrets: MemberSecrets,
    private readonly etcd: EtcdProcess,
    private readonly store: ClusterStore,
  ) {
    this.stsCache = sharedStsCache(store, membership.machine);
    this.tlsReports = sharedTlsReports(store, membership.machine);
    this.tlsStatistics = sharedTlsStatistics(store, membership.machine);
  }

  private static connect(membership: Membership, secrets: MemberSecrets, endpoints = membership.endpoints): Promise<ClusterStore> {
    return ClusterStore.connect(endpoints, { credentials: { rootCertificate: Buffer.from(secrets.caCertificate) }, auth: { username: 'root', password: secrets.rootPassword } });
  }

  /** At engine start: a machine with cluster files starts its etcd member and catches up. */
  static async open(host: MemberHost): Promise<ClusterMember | undefined> {
    const found = await readMembership(host.paths);
    if (!found) return undefined;
    const etcd = new EtcdProcess(host.paths, found.membership);
    await etcd.start({ initialCluster: [`${found.membership.machine}=${peerUrl(found.membership)}`], state: 'existing' });
    const member = new ClusterMember(host, found.membership, found.secrets, etcd, await ClusterMember.connect(found.membership, found.secrets));
    member.applied = Number.NaN; // unknown until the first version is applied
    await member.begin();
    return member;
  }

  /** clusterconfig create: this machine's committed configuration becomes the cluster's first version. */
  static async create(host: MemberHost, name: string, address: string, user: string): Promise<ClusterMember> {
    if (await readMembership(host.paths)) throw new UserError('This machine is already in a cluster.');
    const { ip, peerPort, clientPort } = parseAddress(address);
    const config = host.running();
    const machine = config.hostname;
    const ca = await createClusterCa(name);
    const own = await issueMemberCertificate(ca, machine, certificateAddresses(ip));
    const secrets: MemberSecrets = {
      clusterKey: newClusterKey().toString('hex'),
      rootPassword: randomBytes(24).toString('base64url'),
      caCertificate: ca.certificatePem,
      caKey: ca.privateKeyPem,
      memberCertificate: own.certificatePem,
      memberKey: own.privateKeyPem,
    };
    const membership: Membership = { cluster: name, machine, ip, peerPort, clientPort, endpoints: [clientUrl({ ip, clientPort })] };
    await writeMembership(host.paths, membership, secrets);
    const etcd = new EtcdProcess(host.paths, membership);
    try {
      await etcd.start({ initialCluster: [`${machine}=${peerUrl(membership)}`], state: 'new' });
      // A new etcd has no accounts: make root, then turn authentication on.
      const bare = await etcdClient({ hosts: membership.endpoints, credentials: { rootCertificate: Buffer.from(secrets.caCertificate) } });
      try {
        await waitFor(() => bare.get('/mxgate/version').string(), 'the new etcd member to answer');
        await bare.user('root').create(secrets.rootPassword);
        await bare.user('root').addRole('root');
        await bare.auth.authEnable();
      } finally {
        bare.close();
      }
      const member = new ClusterMember(host, membership, secrets, etcd, await ClusterMember.connect(membership, secrets));
      await member.uploadKeys(config);
      const doc = newCluster(name, machine, config, { user, time: new Date().toISOString() });
      if (!(await member.store.create(doc))) throw new UserError('This etcd already holds a cluster.');
      member.applied = doc.version;
      member.doc = doc;
      await member.begin();
      host.log.info(`Cluster ${name} created on ${machine} (etcd peer ${peerUrl(membership)})`);
      return member;
    } catch (err) {
      await etcd.stop();
      await removeMembership(host.paths);
      throw err;
    }
  }

  /** clusterconfig join: add this machine's etcd member through a token, then run the cluster's configuration. */
  static async join(host: MemberHost, at: string, tokenText: string, address: string): Promise<ClusterMember> {
    if (await readMembership(host.paths)) throw new UserError('This machine is already in a cluster; "clusterconfig leave" first.');
    const token = parseToken(tokenText);
    const remote = parseAddress(at);
    const { ip, peerPort, clientPort } = parseAddress(address);
    const ca = await pinnedCa(remote.ip, remote.clientPort, token.caHash);
    const remoteUrl = clientUrl(remote);
    // The token's own etcd account may read its bundle and nothing else.
    const guest = await etcdClient({ hosts: [remoteUrl], credentials: { rootCertificate: Buffer.from(ca) }, auth: { username: JOIN_USER(token.id), password: token.secret } });
    let bundle: JoinBundle;
    try {
      const text = await guest.get(`/mxgate/join/${token.id}`).string();
      const offer = text === null ? null : parseJoinOffer(text);
      if (offer === null || Date.parse(offer.expires) <= Date.now()) throw new UserError('The join token has expired or was already used: make a new one with "clusterconfig token".');
      bundle = JSON.parse(unseal(tokenKey(token.secret), offer.sealed, `join ${token.id}`)) as JoinBundle;
    } catch (err) {
      if (err instanceof UserError) throw err;
      if (/authentication failed|invalid auth|user name/i.test((err as Error).message)) throw new UserError('The join token has expired or was already used: make a new one with "clusterconfig token".');
      throw new UserError(`Cannot read the join token from ${at}: ${(err as Error).message}`);
    } finally {
      guest.close();
    }
    const config = host.running();
    const machine = config.hostname;
    const own = await issueMemberCertificate({ certificatePem: bundle.caCertificate, privateKeyPem: bundle.caKey }, machine, certificateAddresses(ip));
    const secrets: MemberSecrets = { clusterKey: bundle.clusterKey, rootPassword: bundle.rootPassword, caCertificate: bundle.caCertificate, caKey: bundle.caKey, memberCertificate: own.certificatePem, memberKey: own.privateKeyPem };
    const membership: Membership = { cluster: bundle.cluster, machine, ip, peerPort, clientPort, endpoints: [remoteUrl] };
    const root = await ClusterMember.connect(membership, secrets, [remoteUrl]);
    let etcd: EtcdProcess | undefined;
    try {
      if (!(await root.takeJoinBundle(token.id))) throw new UserError('The join token was used by another machine a moment ago: make a new one.');
      await dropJoinAccount(root.client, token.id);
      const doc = await root.document();
      if (!doc) throw new UserError('The cluster has no configuration yet.');
      const joined = withMember(doc, machine, config);
      const problems = problemsOfVersion(joined);
      if (problems.length) throw new UserError(`This machine cannot run the cluster's configuration:\n  ${problems.join('\n  ')}`);
      // etcd adds a member only while every member it has is up and started (a member that joined a
      // moment ago may still be publishing itself): wait for that rather than fail.
      const added = await waitFor(() => root.client.cluster.memberAdd({ peerURLs: [peerUrl(membership)] }), 'the cluster to be healthy enough to add a member', 30_000, (e) => /unhealthy cluster|circuit breaker/i.test(e.message));
      const initial = (added.members ?? []).map((m) => `${m.name || machine}=${m.peerURLs[0]}`);
      const endpoints = [...new Set([...(added.members ?? []).flatMap((m) => m.clientURLs), remoteUrl, clientUrl(membership)])];
      await writeMembership(host.paths, { ...membership, endpoints }, secrets);
      etcd = new EtcdProcess(host.paths, { ...membership, endpoints });
      await etcd.start({ initialCluster: initial, state: 'existing' });
      const member = new ClusterMember(host, { ...membership, endpoints }, secrets, etcd, await ClusterMember.connect({ ...membership, endpoints }, secrets));
      await waitFor(() => member.store.document(), 'this machine\'s etcd member to join');
      // Add this machine to the document (a commit like any other, retried if another commit came first).
      for (;;) {
        const now = (await member.store.document())!;
        const next = { ...withMember(now, machine, config), version: now.version + 1, time: new Date().toISOString(), user: 'system', comment: `${machine} joined` };
        if (await member.store.commit(next, now.version)) break;
      }
      await member.begin();
      host.log.info(`Joined cluster ${bundle.cluster} as ${machine} (etcd peer ${peerUrl(membership)})`);
      return member;
    } catch (err) {
      await etcd?.stop();
      await removeMembership(host.paths);
      throw err;
    } finally {
      root.close();
    }
  }

  /**
   * Watch the document and report every 2 s (each report also reads the document, so a member
   * converges even while its watch is down). Nothing here waits for a quorum: a member that starts
   * alone runs its last applied configuration until the others answer.
   */
  private async begin(): Promise<void> {
    this.store
      .watch((doc) => this.want(doc))
      .then((w) => {
        this.watcher = w;
        w.on('error', () => undefined);
      })
      .catch(() => undefined);
    this.reportTimer = setInterval(() => void this.report(), 2_000).unref();
    await this.report();
    await this.applying;
  }

  /** A committed document arrived: apply it unless a newer one is already applied or queued. */
  private want(doc: ClusterDocument): void {
    if (doc.version > (this.doc?.version ?? 0)) {
      this.doc = doc; // what sessions edit: the newest seen
      this.watchDeadline();
    }
    if (this.wanted && this.wanted.version >= doc.version) return;
    this.wanted = doc;
    this.applying = this.applying.then(async () => {
      const next = this.wanted!; // by now perhaps a newer one than `doc`: the intermediate ones are skipped
      if (next.version !== this.applied) await this.applyVersion(next);
    });
  }

  /** Every key the version needs on disk, validated; then the engine's commit path. Never half: a bad version is reported and the old one kept. */
  private async applyVersion(doc: ClusterDocument): Promise<void> {
    const machine = findMachine(doc, this.membership.machine);
    if (!machine) return this.removed(doc);
    try {
      const config = effectiveConfig(doc, machine);
      await this.fetchKeys(config);
      if (JSON.stringify(config) !== JSON.stringify(this.host.running())) {
        await this.host.apply(config, { user: doc.user, comment: `Cluster ${doc.name} version ${doc.version}${doc.comment ? `: ${doc.comment}` : ''}` });
      }
      this.applied = doc.version;
      this.applyProblem = undefined;
    } catch (err) {
      const why = err instanceof ConfigError ? err.message.replace(/\n\s*/g, ' ') : (err as Error).message;
      this.applyProblem = `cluster version ${doc.version} not applied, still running version ${Number.isNaN(this.applied) ? 'of before' : this.applied}: ${why}`;
      this.host.log.critical(`Cluster ${doc.name}: ${this.applyProblem}`);
    }
    await this.report().catch(() => undefined);
  }

  /**
   * Another member removed this machine (clusterconfig removemachine): its etcd member is gone
   * from the cluster, so stop it, forget the membership, and go on with the configuration applied
   * last, as after "clusterconfig leave".
   */
  private async removed(doc: ClusterDocument): Promise<void> {
    if (this.closed || this.leaving) return;
    this.host.log.warning(`Removed from cluster ${doc.name} at version ${doc.version} by ${doc.user}; this machine keeps running its last applied configuration as its own`);
    await this.close();
    await removeMembership(this.host.paths);
    this.host.departed();
  }

  private get clusterKey(): Buffer {
    return Buffer.from(this.secrets.clusterKey, 'hex');
  }

  /** The credentials (private keys, TSIG keys) `config` refers to that this machine holds go to etcd, sealed. */
  private async uploadKeys(config: Config): Promise<void> {
    for (const { ref } of credentialRefs(config)) {
      let pem: string;
      try {
        pem = await readKey(this.host.paths, ref);
      } catch {
        continue; // another member's key: it uploaded it
      }
      if ((await this.store.sealedKey(ref)) === null) await this.store.putSealedKey(ref, seal(this.clusterKey, pem, `key ${ref}`));
    }
  }

  private async fetchKeys(config: Config): Promise<void> {
    for (const { ref, owner } of credentialRefs(config)) {
      try {
        await readKey(this.host.paths, ref);
        continue;
      } catch {
        // fetched below
      }
      const sealed = await this.store.sealedKey(ref);
      if (sealed === null) throw new UserError(`${owner} is in neither this machine nor the cluster`);
      if (!(await storeCredential(this.host.paths, ref, unseal(this.clusterKey, sealed, `key ${ref}`)))) throw new UserError(`${owner} in the cluster does not match its reference`);
    }
  }

  /** The report being written, if one is (close() waits for it, so none lands after the withdrawal). */
  private reporting: Promise<void> | undefined;
  /** Something changed while a report was being written: write another after it. */
  private reportAgain = false;
  private reports = 0;

  private async report(): Promise<void> {
    if (this.closed) return;
    if (this.reporting) {
      this.reportAgain = true;
      return;
    }
    this.reporting = (async () => {
      do {
        this.reportAgain = false;
        await this.writeReport();
      } while (this.reportAgain && !this.closed);
    })().finally(() => {
      this.reporting = undefined;
    });
    await this.reporting;
  }

  private async writeReport(): Promise<void> {
    try {
      const r: MemberReport = { machine: this.membership.machine, applied: this.applied, queue: this.host.queueSize(), time: new Date().toISOString(), ...(this.applyProblem ? { problem: this.applyProblem } : {}) };
      await this.store.report(r, REPORT_TTL_SECONDS);
      if (this.reachProblem) this.host.log.info(`Cluster ${this.membership.cluster}: the cluster answers again`);
      this.reachProblem = undefined;
      const doc = await this.store.document();
      if (doc) this.want(doc);
      // Every 30 s: offers of expired join tokens go, with their accounts (etcd's leases alone may outlive them).
      if (++this.reports % SWEEP_EVERY_REPORTS === 0) await this.dropSpentJoinAccounts().catch(() => undefined);
    } catch (err) {
      if (!this.reachProblem) this.host.log.warning(`Cluster ${this.membership.cluster}: ${(err as Error).message}; mail goes on with the configuration applied last`);
      this.reachProblem = (err as Error).message;
    }
  }

  status(): ClusterStatus {
    const problem = this.reachProblem ?? this.applyProblem ?? this.etcd.problem;
    return { name: this.membership.cluster, machine: this.membership.machine, version: this.doc?.version ?? 0, applied: Number.isNaN(this.applied) ? 0 : this.applied, ...(problem ? { problem } : {}) };
  }

  /** The configuration a session at `level` edits: what that level resolves to, with this machine's own settings, and where each value is set. */
  view(level: Level): { version: number; config: Config; origins: Origin[]; levels: string[] } {
    const doc = this.current();
    return { version: doc.version, config: validateConfig(resolve(doc, level, ownSettings(this.host.running()))), origins: origins(doc, level), levels: levelsOf(doc) };
  }

  private current(): ClusterDocument {
    if (!this.doc) throw new ClusterUnavailable(`the cluster's configuration has not been read yet: ${this.reachProblem ?? 'etcd does not answer'}`);
    return this.doc;
  }

  /**
   * What a commit of a session's draft at its level would make: the next cluster document, checked
   * for every machine, and this machine's configuration before and after it. Nothing is written.
   */
  async plan(req: CommitRequest, authorize: (from: Config, to: Config) => void): Promise<{ doc: ClusterDocument; next: ClusterDocument; here: { from: Config; to: Config } }> {
    const doc = this.current();
    if (req.baseVersion !== doc.version) throw new StaleVersion(`The cluster configuration was committed by ${doc.user} at ${doc.time} (version ${doc.version}) after your changes were started from version ${req.baseVersion}.`);
    const view = this.view(req.level).config;
    authorize(view, req.draft);
    let next: ClusterDocument;
    if (req.rollbackTo !== undefined) {
      const old = await this.store.version(req.rollbackTo);
      if (!old) throw new UserError(`There is no cluster version ${req.rollbackTo}.`);
      const machines = Object.fromEntries(Object.entries(doc.machines).map(([m, v]) => [m, old.machines[m] ?? v]));
      next = { ...doc, cluster: old.cluster, groups: old.groups, machines };
    } else {
      next = placeEdits(doc, req.level, view, req.draft);
    }
    if (JSON.stringify(next) === JSON.stringify(doc)) throw new NoChanges('There is no data to commit.');
    const problems = problemsOfVersion(next);
    if (problems.length) throw new ConfigError('The configuration is not valid:', problems);
    const me = this.membership.machine;
    return { doc, next, here: { from: effectiveConfig(doc, me), to: effectiveConfig(next, me) } };
  }

  /**
   * Commit a session's draft at its level: an etcd transaction on the version the session started
   * from (one winner), then applied here at once and by every other member as it sees it. `guard`
   * sees what this machine would run before and after (the lock-out check of the session's own way in).
   */
  async commit(req: CommitRequest, authorize: (from: Config, to: Config) => void, guard: (from: Config, to: Config) => void = () => undefined): Promise<{ doc: ClusterDocument; notes: string[] }> {
    const planned = await this.plan(req, authorize);
    const doc = planned.doc;
    guard(planned.here.from, planned.here.to);
    const version = doc.version + 1;
    const confirmation = req.confirmMinutes
      ? { version, previous: doc.confirmation?.previous ?? doc.version, minutes: req.confirmMinutes, user: req.user, deadline: new Date(Date.now() + req.confirmMinutes * 60_000).toISOString() }
      : undefined;
    const next: ClusterDocument = { ...withoutConfirmation(planned.next), version, time: new Date().toISOString(), user: req.user, comment: req.comment, ...(confirmation ? { confirmation } : {}) };
    try {
      await this.uploadKeys(req.draft);
      if (await this.store.commit(next, doc.version)) {
        this.want(next);
        await this.applying;
        if (this.applyProblem) throw new AppliedElsewhere(`Committed as cluster version ${next.version}, but this machine could not apply it: ${this.applyProblem}`);
        return { doc: next, notes: req.rollbackTo === undefined ? overriddenChanges(doc, next, req.level) : [] };
      }
    } catch (err) {
      if (err instanceof ClusterUnavailable) this.reachProblem = err.message; // status says so at once
      throw err;
    }
    const now = await this.store.document();
    throw new StaleVersion(`The cluster configuration was committed by ${now?.user ?? 'another member'} (version ${now?.version ?? '?'}) since you started from version ${doc.version}; nothing was committed.`);
  }

  /** A change to the cluster document itself (clusterset, groups): validated for every machine, committed with one winner, applied here first. */
  async amend(change: (doc: ClusterDocument) => ClusterDocument, user: string, comment: string): Promise<ClusterDocument> {
    const doc = this.current();
    let next = change(doc);
    if (JSON.stringify(next) === JSON.stringify(doc)) throw new NoChanges('There is no data to commit.');
    const problems = problemsOfVersion(next);
    if (problems.length) throw new ConfigError('The configuration is not valid:', problems);
    next = { ...withoutConfirmation(next), version: doc.version + 1, time: new Date().toISOString(), user, comment };
    if (!(await this.store.commit(next, doc.version))) throw new StaleVersion('The cluster configuration was committed by another member meanwhile; nothing was changed. Try again.');
    this.want(next);
    await this.applying;
    if (this.applyProblem) throw new AppliedElsewhere(`Committed as cluster version ${next.version}, but this machine could not apply it: ${this.applyProblem}`);
    return next;
  }

  /**
   * Does this machine renew certificate profile `name`? Of the machines that run it as set at the
   * same level, the first by name that is up (has a report in etcd) does, so one order is made
   * for the lot; a machine's own profile is its own to renew.
   */
  async renewsHere(name: string): Promise<boolean> {
    const doc = this.current();
    const me = findMachine(doc, this.membership.machine);
    const level = me ? certificateLevel(doc, me, name) : undefined;
    if (!me || !level) return false;
    const up = new Set((await this.store.reports()).map((r) => r.machine.toLowerCase()));
    const first = machinesUsingCertificateAt(doc, level, name)
      .filter((m) => m === me || up.has(m.toLowerCase()))
      .sort()[0];
    return first === me;
  }

  /**
   * An engine-made change of certificate profile `name` (an ACME renewal), committed where the
   * profile is set — cluster, group or this machine — so every machine that runs it gets it. The
   * new key goes to etcd, sealed, first.
   */
  async changeCertificate<P extends { name: string }>(name: string, change: (profile: P) => P, user: string, comment: string): Promise<number> {
    const doc = this.current();
    const me = findMachine(doc, this.membership.machine);
    const level = me ? certificateLevel(doc, me, name) : undefined;
    if (!me || !level) throw new UserError(`Certificate profile ${name} is not in cluster ${doc.name}'s configuration for this machine.`);
    await this.uploadKeys(effectiveConfig(withCertificateAt(doc, level, name, change), me));
    return (await this.amend((d) => withCertificateAt(d, level, name, change), user, comment)).version;
  }

  /** The cluster's committed versions (rollbackconfig list). */
  async history(): Promise<{ version: number; time: string; user: string; comment: string }[]> {
    return (await this.store.history()).map(({ version, time, user, comment }) => ({ version, time, user, comment }));
  }

  /** A committed cluster version as this machine would run it (rollbackconfig compares and loads it). */
  async versionRecord(version: number): Promise<{ version: number; time: string; user: string; comment: string; config: Config } | undefined> {
    const doc = await this.store.version(version);
    if (!doc) return undefined;
    const machine = findMachine(doc, this.membership.machine);
    const config = machine ? effectiveConfig(doc, machine) : this.host.running();
    return { version: doc.version, time: doc.time, user: doc.user, comment: doc.comment, config };
  }

  /** clusterconfig token: a one-time token that lets one machine join, valid `ttlMinutes`. */
  async token(ttlMinutes: number): Promise<{ token: string; expires: string }> {
    const id = randomBytes(4).toString('hex');
    const secret = randomBytes(24).toString('base64url');
    const expires = new Date(Date.now() + ttlMinutes * 60_000);
    const c = this.store.client;
    const bundle: JoinBundle = { cluster: this.membership.cluster, clusterKey: this.secrets.clusterKey, rootPassword: this.secrets.rootPassword, caCertificate: this.secrets.caCertificate, caKey: this.secrets.caKey };
    try {
      await this.dropSpentJoinAccounts();
      await this.store.putJoinBundle(id, { expires: expires.toISOString(), sealed: seal(tokenKey(secret), JSON.stringify(bundle), `join ${id}`) }, ttlMinutes * 60);
      await c.role(JOIN_USER(id)).create();
      await c.role(JOIN_USER(id)).grant({ permission: 'Read', range: c.range({ start: `/mxgate/join/${id}`, end: `/mxgate/join/${id}\0` }) });
      await c.user(JOIN_USER(id)).create(secret);
      await c.user(JOIN_USER(id)).addRole(JOIN_USER(id));
    } catch (err) {
      if (err instanceof ClusterUnavailable) throw err;
      throw new UserError(`Cannot make a join token: ${(err as Error).message}`);
    }
    const caHash = createHash('sha256').update(new X509Certificate(this.secrets.caCertificate).raw).digest('hex');
    return { token: `${id}.${secret}.${caHash}`, expires: expires.toISOString() };
  }

  /** Tokens used, or past their expiry: their offer and their etcd account go (every member sweeps, see report()). */
  private async dropSpentJoinAccounts(): Promise<void> {
    const users = await this.store.client.getUsers();
    for (const u of users.filter((x) => /^join-[0-9a-f]{8}$/.test(x.name))) {
      const id = u.name.slice('join-'.length);
      const offer = await this.store.joinBundle(id).catch(() => null);
      if (offer && Date.parse(offer.expires) > Date.now()) continue;
      await this.store.dropJoinBundle(id);
      await dropJoinAccount(this.store.client, id);
    }
  }

  /** clusterconfig list: every machine of the document, with what it last reported. */
  async list(): Promise<ClusterMachine[]> {
    const doc = this.current();
    const reports = await this.store.reports().catch(() => [] as MemberReport[]);
    return Object.entries(doc.machines).map(([machine, m]) => {
      const r = reports.find((x) => x.machine === machine);
      return { machine, group: m.group, health: r ? (r.problem ? `problem: ${r.problem}` : 'ok') : 'not reporting', applied: r ? r.applied : null, queue: r ? r.queue : null };
    });
  }

  /** clustercheck: where the machines disagree with the committed document (consistency.ts). */
  async check(): Promise<Inconsistency[]> {
    const doc = this.current();
    const [reports, etcdMembers, sealedKeys] = await Promise.all([this.store.reports(), this.etcdMembers(), this.store.sealedKeyRefs()]);
    return findInconsistencies({ doc, reports, etcdMembers: etcdMembers.map((m) => ({ name: m.name, peerURLs: m.peerURLs })), sealedKeys });
  }

  private async etcdMembers() {
    try {
      return (await this.store.client.cluster.memberList({})).members ?? [];
    } catch (err) {
      throw new ClusterUnavailable(`Cannot list the etcd members: ${(err as Error).message}`);
    }
  }

  /**
   * clusterconfig removemachine / leave: the machine leaves the document and its etcd member the
   * cluster. NAME may also be an etcd member no machine has (clustercheck names it: a removal or a
   * join that did not finish), which only leaves etcd.
   */
  async removeMachine(name: string, user: string): Promise<void> {
    const doc = this.current();
    const machine = findMachine(doc, name);
    const members = await this.etcdMembers();
    if (!machine) {
      const orphan = members.find((m) => etcdMemberLabel(m).toLowerCase() === name.toLowerCase() && !findMachine(doc, m.name));
      if (!orphan) throw new UserError(`There is no machine ${name} in cluster ${doc.name}.`);
      await this.store.client.cluster.memberRemove({ ID: orphan.ID }).catch((err: Error) => {
        throw new UserError(`Cannot remove etcd member ${name}: ${err.message}`);
      });
      this.host.log.info(`Cluster ${doc.name}: etcd member ${name}, which belonged to no machine, removed by ${user}`);
      return;
    }
    const next = { ...withoutMember(doc, machine), version: doc.version + 1, time: new Date().toISOString(), user, comment: `${machine} removed` };
    const etcdMember = members.find((m) => m.name === machine);
    if (!(await this.store.commit(next, doc.version))) throw new StaleVersion('The cluster configuration changed meanwhile; try again.');
    if (!etcdMember) return;
    // Removing our own etcd member stops it while it answers: ask the others, so the answer is not lost
    // (the library would retry elsewhere and be told "member not found" about a removal that worked).
    const others = members.filter((m) => m !== etcdMember).flatMap((m) => m.clientURLs);
    const via = machine === this.membership.machine && others.length ? await ClusterMember.connect(this.membership, this.secrets, others) : this.store;
    try {
      await via.client.cluster.memberRemove({ ID: etcdMember.ID });
    } catch (err) {
      if (!/member not found/i.test((err as Error).message)) throw err; // already removed: what we wanted
    } finally {
      if (via !== this.store) via.close();
    }
  }

  async leave(user: string): Promise<void> {
    this.leaving = true; // our own removal arrives by the watch too: not news to announce
    try {
      await this.removeMachine(this.membership.machine, user);
    } catch (err) {
      this.leaving = false;
      throw err;
    }
    await this.close();
    await removeMembership(this.host.paths);
  }

  private closed = false;
  private leaving = false;
  private deadlineTimer: NodeJS.Timeout | undefined;

  /** The commit confirmed the newest version waits on, if it does. */
  confirmation(): PendingConfirmation | undefined {
    return this.doc?.confirmation;
  }

  /** commit confirm: a version without the deadline (every member stops waiting). */
  async confirm(user: string): Promise<PendingConfirmation> {
    const was = this.current().confirmation;
    if (!was) throw new NoChanges('No commit is waiting for confirmation.');
    await this.amend((d) => withoutConfirmation(d), user, `Version ${was.version} confirmed`);
    return was;
  }

  /** Every member waits for the deadline of the newest version; at it, each tries to go back and one wins. */
  private watchDeadline(): void {
    clearTimeout(this.deadlineTimer);
    const p = this.doc?.confirmation;
    if (!p || this.closed) return;
    // setTimeout holds at most ~24.8 days; deadlines are at most a day away.
    this.deadlineTimer = setTimeout(() => void this.expire(p), Math.max(0, Date.parse(p.deadline) - Date.now()));
    this.deadlineTimer.unref();
  }

  private async expire(p: PendingConfirmation): Promise<void> {
    if (this.closed || this.doc?.confirmation?.version !== p.version) return;
    try {
      const level = { kind: 'cluster' as const };
      const { doc } = await this.commit({ level, baseVersion: p.version, draft: this.view(level).config, user: 'system', comment: `Rollback to version ${p.previous}: ${unconfirmedReason(p)}`, rollbackTo: p.previous }, () => undefined);
      this.host.unconfirmed(p, doc.version);
    } catch (err) {
      if (err instanceof StaleVersion || this.closed) return; // another member went back first, or a later version confirmed it
      this.host.log.warning(`Cluster ${this.doc?.name}: going back from unconfirmed version ${p.version} failed (${(err as Error).message}); trying again in 30 s`);
      this.deadlineTimer = setTimeout(() => void this.expire(p), 30_000);
      this.deadlineTimer.unref();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.deadlineTimer);
    if (this.reportTimer) clearInterval(this.reportTimer);
    await this.watcher?.cancel().catch(() => undefined);
    await this.reporting;
    await this.store.dropReport(this.membership.machine).catch(() => undefined); // without a quorum: the lease ends it
    this.store.close();
    await this.etcd.stop();
  }

}

export class StaleVersion extends UserError {
  override name = 'StaleVersion';
}
export class NoChanges extends UserError {
  override name = 'NoChanges';
}
export class AppliedElsewhere extends UserError {
  override name = 'AppliedElsewhere';
}

async function dropJoinAccount(client: Etcd3, id: string): Promise<void> {
  await client.user(JOIN_USER(id)).delete().catch(() => undefined);
  await client.role(JOIN_USER(id)).delete().catch(() => undefined);
}

/** Try `probe` until it succeeds (or fails in a way `retryable` does not accept), for at most `ms`. */
async function waitFor<T>(probe: () => Promise<T>, what: string, ms = 20_000, retryable: (err: Error) => boolean = () => true): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await probe();
    } catch (err) {
      if (!retryable(err as Error)) throw err;
      if (Date.now() > until) throw new UserError(`Gave up waiting for ${what}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

