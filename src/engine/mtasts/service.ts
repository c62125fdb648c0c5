import { readdir, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { ensureDir, writeFileAtomic } from '../../store/atomic.js';
import { type DnsClient, txtText } from '../dns/client.js';
import type { MailLog } from '../log/mailLog.js';
import { fetchPolicy, StsFetchError, type StsFetchFailure } from './fetch.js';
import { isStsRecord, parseStsRecords, StsFormatError, type StsPolicy } from './parse.js';
import { BoundedMap } from '../boundedMap.js';

/** A policy in the cache, with the TXT id it was fetched under. */
export type CachedPolicy = StsPolicy & { id: string; fetchedAt: string; expiresAt: string };

/** What the cache keeps for one domain (one JSON file per domain, survives restarts). */
export interface StsCacheEntry {
  domain: string;
  policy?: CachedPolicy;
  lastFetch?: { at: string; ok: boolean; detail: string };
  /** Fetch failures in a row; at FAILURE_LIMIT fetching stops for a day. */
  failures: number;
  skipUntil?: string;
  lastUsed?: string;
}

/** The answer for one delivery: the policy in force (if any) and why there is none or an older one. */
export interface StsLookup {
  policy: CachedPolicy | null;
  /** A failure to report (RFC 8460) when the policy could not be had or renewed. */
  failure?: { type: StsFetchFailure; detail: string };
}

/** A policy as the cluster shares it: with the member that fetched it. */
export type SharedPolicy = CachedPolicy & { fetchedBy: string };

/**
 * The cluster's shared MTA-STS cache (etcd; absent standalone): a member takes a policy another
 * member fetched under the same TXT id, and only one member at a time fetches a domain's policy.
 */
export interface SharedStsCache {
  readonly member: string;
  get(domain: string): Promise<SharedPolicy | null>;
  put(domain: string, policy: SharedPolicy): Promise<void>;
  /** True for the one member that may fetch the domain's policy now. */
  claim(domain: string): Promise<boolean>;
  release(domain: string): Promise<void>;
}

export interface StsSources {
  dns: DnsClient;
  trusted: string[];
}

/** The TXT record is checked again after this long; until then the last answer stands. */
const TXT_RECHECK_MS = 5 * 60_000;
const FAILURE_LIMIT = 3;
const SKIP_MS = 24 * 3600_000;
const DAY_MS = 24 * 3600_000;
const RECENT_LIMIT = 10_000;
/** How long a member waits for the policy another cluster member is fetching before fetching itself. */
const CLUSTER_WAIT_MS = 15_000;
/** Entries whose policy has expired and that were not used for this long are removed. */
const FORGET_MS = 30 * DAY_MS;

const clean = (domain: string) => domain.toLowerCase().replace(/\.$/, '');
const expired = (p: CachedPolicy, now: number) => Date.parse(p.expiresAt) <= now;

/**
 * MTA-STS policies for delivery (RFC 8461 §5): discovery through the engine's DNS client, fetch
 * over HTTPS, a persistent cache under the data directory. Following §5.1, an unexpired cached
 * policy stays in force when the TXT record disappears or a refetch fails; a new TXT id causes a
 * refetch. Answers are reused for a few minutes and then renewed in the background, and policies in
 * use are refetched before they expire (`refreshDue`), so a message waits only for a first fetch.
 */
export class MtaStsService {
  private readonly entries = new Map<string, StsCacheEntry>();
  /** The last answer per domain, a shortcut only (the cache is in `entries`): bounded, oldest out first. */
  private readonly recent = new BoundedMap<string, { at: number; lookup: StsLookup }>(RECENT_LIMIT);
  private readonly inflight = new Map<string, Promise<StsLookup>>();
  private loaded: Promise<void> | undefined;

  constructor(
    private readonly dir: string,
    private readonly log: MailLog,
    private readonly clock: () => number = Date.now,
    private readonly fetch: typeof fetchPolicy = fetchPolicy,
    /** In a cluster, its shared cache (read at each fetch: the engine may join or leave a cluster). */
    private readonly shared: () => SharedStsCache | undefined = () => undefined,
  ) {}

  /** Read the cache from disk once; unreadable files are skipped (and rewritten on the next fetch). */
  load(): Promise<void> {
    this.loaded ??= (async () => {
      await ensureDir(this.dir);
      for (const name of await readdir(this.dir)) {
        if (!name.endsWith('.json')) continue;
        try {
          const entry = JSON.parse(await readFile(path.join(this.dir, name), 'utf8')) as StsCacheEntry;
          if (typeof entry.domain === 'string') this.entries.set(clean(entry.domain), entry);
        } catch {
          this.log.warning(`MTA-STS cache file ${name} cannot be read; it is ignored`);
        }
      }
    })();
    return this.loaded;
  }

  /** The policy for a delivery to `domain`. Never throws: failures leave the cached policy or none. */
  async policyFor(domain: string, sources: StsSources): Promise<StsLookup> {
    const d = clean(domain);
    await this.load();
    const now = this.clock();
    const entry = this.entries.get(d);
    if (entry) entry.lastUsed = new Date(now).toISOString();
    const recent = this.recent.get(d);
    const stillValid = recent && (!recent.lookup.policy || !expired(recent.lookup.policy, now));
    if (recent && stillValid && now - recent.at < TXT_RECHECK_MS) return recent.lookup;
    if (recent && stillValid) {
      void this.check(d, sources, false); // stale: renewed in the background, this message does not wait
      return recent.lookup;
    }
    return this.check(d, sources, false);
  }

  /** Cached policies for mtastsstatus. */
  async status(): Promise<StsCacheEntry[]> {
    await this.load();
    return [...this.entries.values()].sort((a, b) => a.domain.localeCompare(b.domain));
  }

  /**
   * Refetch policies used within their lifetime whose expiry is near (within a day, or half their
   * max_age when that is shorter). Called by the engine every minute; returns the domains renewed.
   */
  async refreshDue(sources: StsSources): Promise<string[]> {
    await this.load();
    const now = this.clock();
    const due = [...this.entries.values()].filter((e) => {
      if (!e.policy || !e.lastUsed || (e.skipUntil && Date.parse(e.skipUntil) > now)) return false;
      const left = Date.parse(e.policy.expiresAt) - now;
      const usedWithinAge = now - Date.parse(e.lastUsed) < e.policy.maxAge * 1000;
      return usedWithinAge && left < Math.min(DAY_MS, (e.policy.maxAge * 1000) / 2);
    });
    for (const e of due) await this.check(e.domain, sources, true);
    await this.forgetStale(now);
    return due.map((e) => e.domain);
  }

  /** Remove entries with no unexpired policy that have not been used for a month. */
  private async forgetStale(now: number): Promise<void> {
    for (const e of [...this.entries.values()]) {
      const live = e.policy && !expired(e.policy, now);
      const lastTouched = Math.max(Date.parse(e.lastUsed ?? '') || 0, Date.parse(e.lastFetch?.at ?? '') || 0);
      if (live || now - lastTouched < FORGET_MS) continue;
      this.entries.delete(e.domain);
      this.recent.delete(e.domain);
      await unlink(path.join(this.dir, `${encodeURIComponent(e.domain)}.json`)).catch(() => undefined);
    }
  }

  /** One discovery for a domain at a time; later callers share it. */
  private check(domain: string, sources: StsSources, renew: boolean): Promise<StsLookup> {
    let p = this.inflight.get(domain);
    if (!p) {
      p = this.discover(domain, sources, renew).finally(() => this.inflight.delete(domain));
      this.inflight.set(domain, p);
    }
    return p;
  }

  private async discover(domain: string, sources: StsSources, renew: boolean): Promise<StsLookup> {
    const now = this.clock();
    const entry = this.entries.get(domain) ?? { domain, failures: 0 };
    if (!renew) entry.lastUsed = new Date(now).toISOString();
    const cached = entry.policy && !expired(entry.policy, now) ? entry.policy : null;
    const owner = `_mta-sts.${domain}`;
    this.log.debug(`DNS query: Q(${owner}, 'TXT')`);
    const answer = await sources.dns.lookup(owner, 'TXT');
    let id: string | null = null;
    // MTA-STS does not rest on DNSSEC: records that failed validation still count (RFC 8461 §10.1).
    if (answer.security === 'bogus' && answer.records.length === 0) {
      this.log.info(`MTA-STS record Error(TXT lookup failed: ${answer.reason ?? answer.rcode}) for domain(${domain})`);
    } else {
      try {
        id = parseStsRecords(answer.records.map(txtText));
        this.log.info(`Successfully fetched MTA-STS TXT record for domain(${domain})`);
      } catch (err) {
        if (!(err instanceof StsFormatError)) throw err;
        // The AsyncOS guide logs a missing record as invalid too; a domain without MTA-STS is not an error.
        if (!answer.records.map(txtText).some(isStsRecord)) this.log.info(`No MTA-STS record for domain(${domain})`);
        else this.log.info(`MTA-STS record Error(Invalid MTA-STS TXT records found) for domain(${domain})`);
        this.log.debug(`MTA-STS TXT record for domain(${domain}): ${err.message}`);
      }
    }
    let lookup: StsLookup;
    if (id === null || (cached && cached.id === id && !renew)) {
      // No (usable) record: an unexpired cached policy stays in force (RFC 8461 §5.1).
      lookup = { policy: cached };
    } else if (entry.skipUntil && Date.parse(entry.skipUntil) > now) {
      lookup = { policy: cached, failure: { type: 'sts-policy-fetch-error', detail: `fetching is suspended until ${entry.skipUntil} after repeated failures` } };
    } else {
      lookup = await this.fetchInto(entry, id, sources, cached);
    }
    this.recent.delete(domain);
    this.recent.set(domain, { at: this.clock(), lookup });
    return lookup;
  }

  private async fetchInto(entry: StsCacheEntry, id: string, sources: StsSources, cached: CachedPolicy | null): Promise<StsLookup> {
    const domain = entry.domain;
    const shared = this.shared();
    const theirs = shared ? await this.fromCluster(shared, domain, id, cached) : null;
    const at = new Date(this.clock()).toISOString();
    if (theirs && theirs !== 'claimed') {
      const { fetchedBy, ...policy } = theirs;
      entry.policy = policy;
      entry.lastFetch = { at, ok: true, detail: `from cluster member ${fetchedBy}: mode ${policy.mode}, ${policy.mx.length} mx pattern(s), max_age ${policy.maxAge}` };
      entry.failures = 0;
      delete entry.skipUntil;
      this.log.info(`MTA-STS policy for the domain(${domain}) taken from the cluster (fetched by ${fetchedBy})`);
      this.entries.set(domain, entry);
      await this.save(entry);
      return { policy: entry.policy };
    }
    this.log.debug(`Fetch MTA-STS policy for the domain(${domain})`);
    let lookup: StsLookup;
    try {
      const policy = await this.fetch(domain, { dns: sources.dns, trusted: sources.trusted });
      const fetched = this.clock();
      entry.policy = { ...policy, id, fetchedAt: new Date(fetched).toISOString(), expiresAt: new Date(fetched + policy.maxAge * 1000).toISOString() };
      entry.lastFetch = { at, ok: true, detail: `mode ${policy.mode}, ${policy.mx.length} mx pattern(s), max_age ${policy.maxAge}` };
      entry.failures = 0;
      delete entry.skipUntil;
      this.log.info(`Successfully fetched MTA-STS policy for the domain(${domain})`);
      this.log.debug(`MTA-STS Cache entry added for the domain (${domain}).`);
      if (shared) await shared.put(domain, { ...entry.policy, fetchedBy: shared.member }).catch((e: Error) => this.log.warning(`MTA-STS policy for ${domain} not shared with the cluster: ${e.message}`));
      lookup = { policy: entry.policy };
    } catch (err) {
      const failure = err instanceof StsFetchError ? { type: err.type, detail: err.message } : { type: 'sts-policy-fetch-error' as const, detail: (err as Error).message };
      entry.lastFetch = { at, ok: false, detail: `${failure.type}: ${failure.detail}` };
      entry.failures += 1;
      this.log.info(`Failure encountered while fetching MTA-STS policy for the domain(${domain})`);
      this.log.info(`MTA-STS policy fetch for ${domain} failed (${failure.type}): ${failure.detail}${cached ? `; the cached policy (id ${cached.id}, until ${cached.expiresAt}) stays in force` : ''}`);
      if (entry.failures >= FAILURE_LIMIT) {
        entry.skipUntil = new Date(this.clock() + SKIP_MS).toISOString();
        this.log.info('Failures encountered while fetching STS policy, successive request is skipped for a day.');
      }
      lookup = { policy: cached, failure };
    }
    if (shared && theirs === 'claimed') await shared.release(domain).catch(() => undefined);
    this.entries.set(domain, entry);
    await this.save(entry);
    return lookup;
  }

  /**
   * The policy under TXT id `id` that another cluster member fetched (newer than ours), waiting for
   * the member that is fetching it now; 'claimed' when this member is the one to fetch it; null
   * when the cluster does not answer or the wait is over (mail does not wait for etcd).
   */
  private async fromCluster(shared: SharedStsCache, domain: string, id: string, cached: CachedPolicy | null): Promise<SharedPolicy | 'claimed' | null> {
    const usable = (p: SharedPolicy | null): p is SharedPolicy => p !== null && p.id === id && !expired(p, this.clock()) && (!cached || p.fetchedAt > cached.fetchedAt);
    try {
      const deadline = Date.now() + CLUSTER_WAIT_MS;
      for (;;) {
        const theirs = await shared.get(domain);
        if (usable(theirs)) return theirs;
        if (await shared.claim(domain)) {
          // Another member may have shared the policy and released its claim between our read and
          // our claim: read once more, so the cluster still fetches once.
          const now = await shared.get(domain);
          if (!usable(now)) return 'claimed';
          await shared.release(domain);
          return now;
        }
        if (Date.now() > deadline) return null;
        await new Promise((r) => setTimeout(r, 200));
      }
    } catch (err) {
      this.log.warning(`MTA-STS: the cluster's cache does not answer for ${domain} (${(err as Error).message}); fetching the policy here`);
      return null;
    }
  }

  private async save(entry: StsCacheEntry): Promise<void> {
    try {
      await ensureDir(this.dir);
      await writeFileAtomic(path.join(this.dir, `${encodeURIComponent(entry.domain)}.json`), JSON.stringify(entry, null, 2) + '\n');
    } catch (err) {
      // The policy still applies from memory; only its survival across a restart is lost.
      this.log.warning(`MTA-STS cache entry for ${entry.domain} could not be written: ${(err as Error).message}`);
    }
  }
}
