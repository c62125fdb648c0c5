import type { Bucket, SharedTlsStatistics } from '../delivery/domainTlsStatistics.js';
import type { SharedPolicy, SharedStsCache } from '../mtasts/service.js';
import { type DayRecord, mergeDays, withoutReported } from '../tlsrpt/recorder.js';
import type { SharedTlsReports } from '../tlsrpt/service.js';
import type { ClusterStore, TlsrptContribution } from './clusterStore.js';

/**
 * What one gateway cannot know alone, kept in the cluster's etcd for the services that need it:
 * MTA-STS policies (fetched once per cluster), TLS report material (reported once per cluster) and
 * each member's TLS counts (tlsreport shows the cluster's).
 * A claim (a key on a lease, created only if absent) says which member does a shared task now.
 */

/** A member fetching an MTA-STS policy holds the claim this long at most (the fetch has its own timeouts). */
const STS_FETCH_CLAIM_SECONDS = 30;
/** A member sending a day's TLS reports holds the claim this long at most. */
const TLSRPT_CLAIM_SECONDS = 300;

export function sharedStsCache(store: ClusterStore, machine: string): SharedStsCache {
  const claimName = (domain: string) => `mta-sts/${encodeURIComponent(domain)}`;
  return {
    member: machine,
    get: async (domain) => {
      const text = await store.stsPolicy(domain);
      try {
        return text === null ? null : (JSON.parse(text) as SharedPolicy);
      } catch {
        return null; // unreadable: fetched again and overwritten
      }
    },
    put: (domain, policy) => store.putStsPolicy(domain, JSON.stringify(policy)),
    claim: (domain) => store.claim(claimName(domain), machine, STS_FETCH_CLAIM_SECONDS),
    release: (domain) => store.release(claimName(domain)),
  };
}

export function sharedTlsReports(store: ClusterStore, machine: string): SharedTlsReports {
  return {
    contribute: async (days) => {
      for (const d of days) await store.addTlsrpt(d.day, machine, (stored) => JSON.stringify(stored ? mergeDays(JSON.parse(stored) as DayRecord, d) : d));
    },
    claimDays: async (before) => {
      const byDay = new Map<string, TlsrptContribution[]>();
      for (const c of await store.tlsrptContributions()) if (!before || c.day < before) byDay.set(c.day, [...(byDay.get(c.day) ?? []), c]);
      const claimed = [];
      for (const [day, contributions] of [...byDay].sort(([a], [b]) => a.localeCompare(b))) {
        if (!(await store.claim(`tlsrpt/${day}`, machine, TLSRPT_CLAIM_SECONDS))) continue; // another member is sending it
        const parts = contributions.map((c) => JSON.parse(c.json) as DayRecord);
        const record = parts.reduce((all, part) => mergeDays(all, part), { day, policies: {} } as DayRecord);
        // Each member's contribution goes, less whatever it added since it was read.
        const done = async () => {
          for (const [i, c] of contributions.entries()) await store.takeTlsrpt(c, (stored) => JSON.stringify(withoutReported(JSON.parse(stored) as DayRecord, parts[i]!)));
          await store.release(`tlsrpt/${day}`);
        };
        claimed.push({ record, done });
      }
      return claimed;
    },
  };
}

export function sharedTlsStatistics(store: ClusterStore, machine: string): SharedTlsStatistics {
  return {
    put: (kind, buckets, keep) => store.putTlsStatistics(kind, machine, buckets.map(([key, b]) => [key, JSON.stringify(b)]), keep),
    others: async (kind) => {
      const out: [string, Bucket][] = [];
      for (const e of await store.tlsStatistics(kind)) {
        if (e.machine === machine) continue;
        try {
          out.push([e.bucket, JSON.parse(e.json) as Bucket]);
        } catch {
          // unreadable: that member rewrites it at its next change
        }
      }
      return out;
    },
  };
}
