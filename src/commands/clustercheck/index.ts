import { type Command, noMoreWords } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { call } from '../clusterChanges.js';

/**
 * clustercheck: do the machines of the cluster agree with its committed configuration? As on the
 * appliance, "No inconsistencies found on available machines." when they do; otherwise one line per
 * finding and what to do about it, and the command fails (a script's exit status says it).
 */
export const clustercheck: Command = {
  name: 'clustercheck',
  summary: 'Check that every machine of the cluster runs the committed configuration',
  usage: ['clustercheck'],
  details: [
    'Finds machines that do not report (down, or cut off from the quorum), that run an older version or',
    'could not apply the newest, that cannot run the committed version, etcd members that belong to no',
    'machine (a join or a removal that did not finish; "clusterconfig removemachine" takes them out),',
    'and certificate profiles whose private key the cluster does not hold.',
  ],
  keywords: [],
  async run(session, args) {
    noMoreWords(this, args);
    await session.load();
    if (!session.clusterName) throw new CommandError('This machine is not in a cluster: "clusterconfig create" or "clusterconfig join" first.');
    const found = await call(session, () => session.call('cluster-check', {}));
    if (!found.length) {
      session.io.print('No inconsistencies found on available machines.');
      return;
    }
    for (const f of found) session.io.print(`${f.subject}: ${f.problem}`, `  -> ${f.remedy}`);
    // A failure, so a script's exit status tells a health check.
    throw new CommandError(`${found.length} inconsistenc${found.length === 1 ? 'y' : 'ies'} found in cluster ${session.clusterName}.`);
  },
};
