import { parseLevel } from '../../store/cluster/levels.js';
import { type Command, noMoreWords, parseOptions, required } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { amendCluster } from '../clusterChanges.js';

/**
 * clusterset: where a setting is kept in a cluster. Copy or move one setting (destinations,
 * listeners … or one certificate profile) between the cluster, a group and a machine, or delete it
 * at a group or machine so that level inherits again. Committed at once, applied by every member.
 */
export const clusterset: Command = {
  name: 'clusterset',
  summary: 'Copy or move a setting between cluster levels, or let a level inherit it again',
  usage: ['clusterset copy SETTING --from LEVEL --to LEVEL', 'clusterset move SETTING --from LEVEL --to LEVEL', 'clusterset delete SETTING --from LEVEL'],
  details: [
    'LEVEL is cluster, group:NAME or machine:NAME. SETTING is a part of the configuration as "showconfig"',
    'lists it (destinations, listeners, tls …) or certificate:NAME for one certificate profile.',
    'delete removes a group\'s or machine\'s own value: from then on it inherits the wider one.',
    'Host name, interfaces and listener workers are each machine\'s own; accounts are the cluster\'s.',
  ],
  keywords: ['copy', 'move', 'delete'],
  async run(session, args) {
    const { values, positionals } = parseOptions(this, args, { from: { type: 'string' }, to: { type: 'string' } });
    const [verb, setting, ...extra] = positionals;
    noMoreWords(this, extra);
    const action = verb?.toLowerCase();
    if (action !== 'copy' && action !== 'move' && action !== 'delete') throw new CommandError(`Usage: ${this.usage.join('\n       ')}`);
    const from = parseLevel(required(this, values.from, '--from'));
    if (action === 'delete' && values.to !== undefined) throw new CommandError('delete takes no --to: the level inherits the wider value again.');
    const to = action === 'delete' ? undefined : parseLevel(required(this, values.to, '--to'));
    await amendCluster(session, () => session.call('cluster-set', { action, setting: required(this, setting, 'The setting'), from, ...(to ? { to } : {}), user: session.user }));
  },
};
