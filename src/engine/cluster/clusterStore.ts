import { noop } from 'cockatiel';
import type { Etcd3, IOptions, Watcher } from 'etcd3';
import type { ClusterDocument } from '../../store/cluster/levels.js';

/**
 * The cluster's keys in etcd (the v3 API through the etcd3 package):
 *   /mxgate/config           the committed cluster document (levels, see store/cluster/levels.ts)
 *   /mxgate/version          its version number; a commit is a transaction on it
 *   /mxgate/history/NNNNNN   every committed document (rollbackconfig)
 *   /mxgate/keys/<ref>       private keys, sealed with the cluster key (vault.ts)
 *   /mxgate/join/<id>        a join bundle, sealed with its token's secret, on a lease (the token's life)
 *   /mxgate/members/<name>   what each member applied and how it is, on a lease (gone when it is)
 *   /mxgate/mta-sts/<domain> the MTA-STS policy a member fetched, shared so the cluster fetches once
 *   /mxgate/tlsrpt/<day>/<machine>  a member's TLS report material of a day, until one report covers it
 *   /mxgate/tls-statistics/<kind>/<bucket>/<machine>  a member's TLS counts (tlsreport) of a day or an hour
 *   /mxgate/claims/<what>    which member does a shared task now (fetch a policy, send a day's report), on a lease
 */
const P = '/mxgate/';
const historyKey = (v: number) => `${P}history/${String(v).padStart(6, '0')}`;
const stsKey = (domain: string) => `${P}mta-sts/${encodeURIComponent(domain)}`;
const claimKey = (what: string) => `${P}claims/${what}`;
const tlsrptPrefix = `${P}tlsrpt/`;
const tlsrptKey = (day: string, machine: string) => `${tlsrptPrefix}${day}/${machine}`;
const statisticsPrefix = (kind: string) => `${P}tls-statistics/${encodeURIComponent(kind)}/`;

/** One member's contribution to a day's TLS report, with the revision that a take must still find. */
export interface TlsrptContribution {
  key: string;
  day: string;
  machine: string;
  json: string;
  revision: string;
}

export interface MemberReport {
  machine: string;
  applied: number;
  problem?: string;
  queue: number;
  time: string;
}

/** What a join token opens: its expiry, and the cluster's secrets sealed with the token's secret. */
export interface JoinOffer {
  expires: string;
  sealed: string;
}

export function parseJoinOffer(text: string): JoinOffer {
  const offer = JSON.parse(text) as Partial<JoinOffer>;
  if (typeof offer.expires !== 'string' || typeof offer.sealed !== 'string') throw new Error('the join offer is malformed');
  return offer as JoinOffer;
}

/** An etcd operation failed because no quorum (or no member) answers: the one line an administrator reads. */
export class ClusterUnavailable extends Error {
  override name = 'ClusterUnavailable';
}

const TIMEOUT_MS = 3_000;

let etcd3: typeof import('etcd3') | undefined;

/**
 * An etcd client. The library (with gRPC) is loaded by the first one, i.e. once this machine is in
 * a cluster or joins one: ~6 MB of heap that an engine outside a cluster never uses.
 */
export async function etcdClient(options: IOptions): Promise<Etcd3> {
  etcd3 ??= await import('etcd3');
  return new etcd3.Etcd3(options);
}

export class ClusterStore {
  private constructor(readonly client: Etcd3) {}

  static async connect(endpoints: string[], options: Pick<IOptions, 'credentials' | 'auth'>): Promise<ClusterStore> {
    const client = await etcdClient({
      hosts: endpoints,
      ...options,
      // The library tries up to three members per call; each try waits at most this long.
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + TIMEOUT_MS }),
      // No circuit breaker per member (the library's default): after a quorum loss it would keep
      // refusing calls for seconds after the members are back. A member that is down answers fast.
      faultHandling: { host: () => noop },
    });
    return new ClusterStore(client);
  }

  close(): void {
    this.client.close();
  }

  private async guard<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      const e = err as Error;
      if (/deadline|unavailable|no connection|ECONNREFUSED|timed out|leader|circuit breaker/i.test(`${e.name} ${e.message}`)) {
        throw new ClusterUnavailable(`the cluster's etcd does not answer (${what}): no quorum reachable from this machine`);
      }
      throw err;
    }
  }

  async document(): Promise<ClusterDocument | undefined> {
    const text = await this.guard('read the configuration', () => this.client.get(`${P}config`).string());
    return text === null ? undefined : (JSON.parse(text) as ClusterDocument);
  }

  /** The first document of a new cluster; refused if one exists. */
  async create(doc: ClusterDocument): Promise<boolean> {
    const text = JSON.stringify(doc);
    const res = await this.guard('create the cluster', () =>
      this.client.if(`${P}version`, 'Create', '==', 0).then(this.client.put(`${P}config`).value(text), this.client.put(`${P}version`).value(String(doc.version)), this.client.put(historyKey(doc.version)).value(text)).commit(),
    );
    return res.succeeded;
  }

  /** Commit `doc` (version base + 1) only if the cluster is still at `base`: one winner among members. */
  async commit(doc: ClusterDocument, base: number): Promise<boolean> {
    const text = JSON.stringify(doc);
    const res = await this.guard('commit', () =>
      this.client
        .if(`${P}version`, 'Value', '==', String(base))
        .then(this.client.put(`${P}config`).value(text), this.client.put(`${P}version`).value(String(doc.version)), this.client.put(historyKey(doc.version)).value(text))
        .commit(),
    );
    return res.succeeded;
  }

  async version(v: number): Promise<ClusterDocument | undefined> {
    const text = await this.guard('read the history', () => this.client.get(historyKey(v)).string());
    return text === null ? undefined : (JSON.parse(text) as ClusterDocument);
  }

  async history(): Promise<ClusterDocument[]> {
    const all = await this.guard('read the history', () => this.client.getAll().prefix(`${P}history/`).strings());
    return Object.values(all).map((t) => JSON.parse(t) as ClusterDocument).sort((a, b) => a.version - b.version);
  }

  /** Calls `changed` with each new document (newest only: a burst of commits may arrive as one). */
  async watch(changed: (doc: ClusterDocument) => void): Promise<Watcher> {
    const w = await this.client.watch().key(`${P}config`).create();
    w.on('put', (kv) => changed(JSON.parse(kv.value.toString()) as ClusterDocument));
    return w;
  }

  async sealedKey(ref: string): Promise<string | null> {
    return this.guard('read a private key', () => this.client.get(`${P}keys/${ref}`).string());
  }

  /** The references of every private key the cluster holds (clustercheck). */
  async sealedKeyRefs(): Promise<Set<string>> {
    const keys = await this.guard('list the private keys', () => this.client.getAll().prefix(`${P}keys/`).keys());
    return new Set(keys.map((k) => k.slice(`${P}keys/`.length)));
  }

  async putSealedKey(ref: string, sealed: string): Promise<void> {
    await this.guard('store a private key', () => this.client.if(`${P}keys/${ref}`, 'Create', '==', 0).then(this.client.put(`${P}keys/${ref}`).value(sealed)).commit());
  }

  /**
   * A join offer, on a lease for its life. The lease alone does not bound it: etcd gives every lease
   * its full time again when a new leader is elected, so the offer carries its expiry, which the
   * joining machine checks and every member's sweep enforces (`dropJoinOffer`).
   */
  async putJoinBundle(id: string, offer: JoinOffer, ttlSeconds: number): Promise<void> {
    const lease = this.client.lease(ttlSeconds, { autoKeepAlive: false });
    await this.guard('store the join token', () => lease.put(`${P}join/${id}`).value(JSON.stringify(offer)).exec());
  }

  async joinBundle(id: string): Promise<JoinOffer | null> {
    const text = await this.guard('read the join token', () => this.client.get(`${P}join/${id}`).string());
    return text === null ? null : parseJoinOffer(text);
  }

  async dropJoinBundle(id: string): Promise<void> {
    await this.guard('remove a join token', () => this.client.delete().key(`${P}join/${id}`).exec());
  }

  /** Use a join bundle up: true for exactly one caller. */
  async takeJoinBundle(id: string): Promise<boolean> {
    const res = await this.guard('use the join token', () => this.client.if(`${P}join/${id}`, 'Create', '>', 0).then(this.client.delete().key(`${P}join/${id}`)).commit());
    return res.succeeded;
  }

  async report(r: MemberReport, ttlSeconds: number): Promise<void> {
    const lease = this.client.lease(ttlSeconds, { autoKeepAlive: false });
    await this.guard('report this member', () => lease.put(`${P}members/${r.machine}`).value(JSON.stringify(r)).exec());
  }

  /** A member that stops says so at once, rather than when its report's lease runs out. */
  async dropReport(machine: string): Promise<void> {
    await this.guard('withdraw this member\'s report', () => this.client.delete().key(`${P}members/${machine}`).exec());
  }

  async reports(): Promise<MemberReport[]> {
    const all = await this.guard('read the members', () => this.client.getAll().prefix(`${P}members/`).strings());
    return Object.values(all).map((t) => JSON.parse(t) as MemberReport);
  }

  async stsPolicy(domain: string): Promise<string | null> {
    return this.guard('read an MTA-STS policy', () => this.client.get(stsKey(domain)).string());
  }

  async putStsPolicy(domain: string, json: string): Promise<void> {
    await this.guard('share an MTA-STS policy', () => this.client.put(stsKey(domain)).value(json).exec());
  }

  /** Claim a shared task (`what`) for at most `ttlSeconds`: true for one member at a time. */
  async claim(what: string, machine: string, ttlSeconds: number): Promise<boolean> {
    return this.guard(`claim ${what}`, async () => {
      const lease = this.client.lease(ttlSeconds, { autoKeepAlive: false });
      const id = await lease.grant();
      const res = await this.client.if(claimKey(what), 'Create', '==', 0).then(this.client.put(claimKey(what)).value(machine).lease(id)).commit();
      if (!res.succeeded) await lease.revoke().catch(() => undefined);
      return res.succeeded;
    });
  }

  async release(what: string): Promise<void> {
    await this.guard(`release ${what}`, () => this.client.delete().key(claimKey(what)).exec());
  }

  /**
   * Add to a member's TLS report material of a day: `merge` gets what is stored (or null) and gives
   * the new value, written only if the key did not change meanwhile (a report may have taken it).
   */
  async addTlsrpt(day: string, machine: string, merge: (stored: string | null) => string): Promise<void> {
    const key = tlsrptKey(day, machine);
    await this.guard('store TLS report material', async () => {
      for (let attempt = 0; attempt < 5; attempt++) {
        const kv = (await this.client.get(key).exec()).kvs[0];
        const next = merge(kv ? kv.value.toString() : null);
        const cond = kv ? this.client.if(key, 'Mod', '==', kv.mod_revision) : this.client.if(key, 'Create', '==', 0);
        if ((await cond.then(this.client.put(key).value(next)).commit()).succeeded) return;
      }
      throw new Error('the material kept changing while it was stored');
    });
  }

  async tlsrptContributions(): Promise<TlsrptContribution[]> {
    const res = await this.guard('read TLS report material', () => this.client.getAll().prefix(tlsrptPrefix).exec());
    return res.kvs.map((kv) => {
      const key = kv.key.toString();
      const [day = '', machine = ''] = key.slice(tlsrptPrefix.length).split('/');
      return { key, day, machine, json: kv.value.toString(), revision: kv.mod_revision };
    });
  }

  /**
   * A report covered this contribution: remove it. If the member added to it since it was read,
   * keep what `remaining` says is left of the stored value.
   */
  async takeTlsrpt(c: TlsrptContribution, remaining: (stored: string) => string): Promise<void> {
    await this.guard('remove reported TLS material', async () => {
      let revision = c.revision;
      let next: string | null = null;
      for (let attempt = 0; attempt < 5; attempt++) {
        const op = next === null ? this.client.delete().key(c.key) : this.client.put(c.key).value(next);
        if ((await this.client.if(c.key, 'Mod', '==', revision).then(op).commit()).succeeded) return;
        const kv = (await this.client.get(c.key).exec()).kvs[0];
        if (!kv) return;
        revision = kv.mod_revision;
        next = remaining(kv.value.toString());
      }
      throw new Error('the material kept changing while it was removed');
    });
  }

  /**
   * Put a member's TLS counts of some buckets (JSON each), and remove the buckets that `keep` no
   * longer keeps, any member's (one that left the cluster leaves its buckets behind).
   */
  async putTlsStatistics(kind: string, machine: string, buckets: [string, string][], keep: (bucket: string) => boolean): Promise<void> {
    const prefix = statisticsPrefix(kind);
    await this.guard('share TLS statistics', async () => {
      for (const [bucket, json] of buckets) await this.client.put(`${prefix}${bucket}/${machine}`).value(json).exec();
      for (const key of await this.client.getAll().prefix(prefix).keys()) {
        const [bucket = ''] = key.slice(prefix.length).split('/');
        if (!keep(bucket)) await this.client.delete().key(key).exec();
      }
    });
  }

  /** Every member's TLS counts of `kind`, bucket by bucket. */
  async tlsStatistics(kind: string): Promise<{ bucket: string; machine: string; json: string }[]> {
    const prefix = statisticsPrefix(kind);
    const all = await this.guard('read the TLS statistics', () => this.client.getAll().prefix(prefix).strings());
    return Object.entries(all).map(([key, json]) => {
      const [bucket = '', machine = ''] = key.slice(prefix.length).split('/');
      return { bucket, machine, json };
    });
  }
}
