import { type ClusterDocument, machineConfig } from '../../store/cluster/levels.js';
import { credentialRefs } from '../../store/certificates/keys.js';
import type { MemberReport } from './clusterStore.js';
import type { Inconsistency } from '../../control/status.js';

/** One etcd member as the membership API lists it (a member added but never started has no name yet). */
export interface EtcdMemberInfo {
  name: string;
  peerURLs: string[];
}

/** How an etcd member is named to the administrator: its name, or its peer address while it has none. */
export const etcdMemberLabel = (m: EtcdMemberInfo): string => m.name || (m.peerURLs[0] ?? '?').replace(/^https?:\/\//, '');

/**
 * clustercheck: where the machines of a cluster disagree with its committed document, each with its
 * remedy. Read-only and pure: the caller gathers the document, the members' reports, etcd's
 * membership and which private keys the cluster holds. An empty answer means consistent.
 */
export function findInconsistencies(input: { doc: ClusterDocument; reports: MemberReport[]; etcdMembers: EtcdMemberInfo[]; sealedKeys: ReadonlySet<string> }): Inconsistency[] {
  const { doc, reports, etcdMembers, sealedKeys } = input;
  const found: Inconsistency[] = [];
  const machines = Object.keys(doc.machines);
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

  for (const machine of machines) {
    const report = reports.find((r) => same(r.machine, machine));
    if (!report) {
      found.push({ subject: machine, problem: 'not reporting: its engine or its etcd member is down, or it cannot reach a quorum', remedy: 'start it; it applies the newest cluster version when it is back' });
    } else if (report.problem) {
      found.push({ subject: machine, problem: report.problem, remedy: 'correct the cause (see its log) and commit again, or roll back with "rollbackconfig"' });
    } else if (report.applied !== doc.version) {
      const runs = typeof report.applied === 'number' && report.applied > 0 ? `runs cluster version ${report.applied}` : 'has not applied a cluster version yet';
      found.push({ subject: machine, problem: `${runs}; the cluster is at version ${doc.version}`, remedy: 'wait a few seconds and check again; if it stays behind, see its log' });
    }
    if (!etcdMembers.some((m) => same(m.name, machine))) {
      found.push({ subject: machine, problem: 'has no etcd member: it reads the cluster through others and does not count towards the quorum', remedy: `"clusterconfig removemachine ${machine}", then join it again with a new token` });
    }
  }

  for (const m of etcdMembers) {
    if (m.name && machines.some((x) => same(x, m.name))) continue;
    const label = etcdMemberLabel(m);
    found.push({
      subject: label,
      problem: m.name ? 'is an etcd member of no machine of the cluster (a removal that did not finish); it counts towards the quorum' : 'is an etcd member that was added but never started (a join that did not finish); it counts towards the quorum',
      remedy: `"clusterconfig removemachine ${label}"`,
    });
  }

  for (const machine of machines) {
    const resolved = machineConfig(doc, machine);
    if ('problem' in resolved) {
      found.push({ subject: machine, problem: `cannot run the committed version: ${resolved.problem}`, remedy: 'correct it at the machine\'s level and commit' });
      continue;
    }
    for (const c of credentialRefs(resolved.config).filter((x) => !sealedKeys.has(x.ref))) {
      const again = c.ref.startsWith('tsig-') ? 'give the update server\'s key again (dnsconfig update-server)' : 'import the certificate again (certconfig)';
      found.push({ subject: machine, problem: `${c.owner} is not stored in the cluster: a member that does not hold it already cannot run this version`, remedy: `${again} at ${machine}'s level and commit` });
    }
  }
  return found;
}
