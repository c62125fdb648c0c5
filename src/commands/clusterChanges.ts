import { EngineError } from '../control/client.js';
import { CommandError } from '../shell/errors.js';
import type { Session } from '../shell/session.js';
import { formatTable } from '../shell/table.js';
import type { ClusterMachine } from '../control/status.js';

/**
 * A change to the cluster's levels themselves (groups, clusterset): refused over uncommitted
 * edits, committed at once as a cluster version; the session then starts again from it.
 */
export async function amendCluster(session: Session, run: () => Promise<{ version: number; comment: string }>): Promise<void> {
  await session.load();
  if (!session.clusterName) throw new CommandError('This machine is not in a cluster: "clusterconfig create" or "clusterconfig join" first.');
  if (session.hasChanges()) throw new CommandError('There are uncommitted changes. Commit them or run "clearchanges" first: this change is committed at once.');
  const meta = await call(session, run);
  // The session's level may be gone (a removed group): it starts again at cluster level then.
  await session.clear().catch(() => session.membershipChanged());
  session.io.print(`Committed as cluster version ${meta.version}: ${meta.comment}.`);
}

/** An engine refusal as one line. */
export async function call<T>(session: Session, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof EngineError) throw new CommandError(err.message);
    throw err;
  }
}

/** The members of the cluster as clusterconfig list and status show them. */
export function clusterMemberRows(machines: ClusterMachine[]): string[] {
  return formatTable(
    ['Machine', 'Group', 'Applied', 'Queue', 'Health'],
    machines.map((m) => [m.machine, m.group, m.applied === null ? '-' : String(m.applied), m.queue === null ? '-' : String(m.queue), m.health]),
  );
}
