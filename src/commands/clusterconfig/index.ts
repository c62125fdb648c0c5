import { type Command, noMoreWords, parseOptions, required } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { amendCluster, call, clusterMemberRows } from '../clusterChanges.js';

/**
 * clusterconfig: several gateways as one cluster (the AsyncOS guide's centralized management), on
 * an etcd member each appliance runs. create / token / join / list / leave / removemachine.
 */
export const clusterconfig: Command = {
  name: 'clusterconfig',
  summary: 'Create, join or leave a cluster of gateways managed as one',
  usage: [
    'clusterconfig create NAME --address IP[:PORT]',
    'clusterconfig token [--ttl MINUTES]',
    'clusterconfig join IP:PORT --token TOKEN --address IP[:PORT]',
    'clusterconfig list',
    'clusterconfig leave',
    'clusterconfig removemachine NAME',
    'clusterconfig addgroup NAME',
    'clusterconfig setgroup MACHINE GROUP',
    'clusterconfig removegroup NAME',
  ],
  details: [
    'create: this machine\'s committed configuration becomes the cluster\'s; its host name, interfaces',
    'and listener workers stay its own (machine level). --address is this member\'s etcd peer address',
    '(port 2380 by default); the etcd client port is the one below it (2379). Peers and clients talk',
    'TLS with certificates of a CA made for the cluster.',
    'token: a one-time join token, valid --ttl minutes (60 by default), printed on the last line.',
    'join: on the new machine, with a member\'s peer address and a token; the machine\'s settings',
    'other than its own are replaced by the cluster\'s. Then every commit on any member is applied',
    'by all; "clustermode" chooses the level (cluster, group, machine) edits go to.',
    'Groups sit between the cluster and its machines (every machine starts in Main_Group): addgroup,',
    'setgroup moves a machine, removegroup removes an empty one. "clusterset" moves settings between levels.',
  ],
  keywords: ['create', 'token', 'join', 'list', 'leave', 'removemachine', 'addgroup', 'setgroup', 'removegroup'],
  async run(session, args) {
    const [sub, ...rest] = args;
    switch (sub?.toLowerCase()) {
      case 'create': {
        const { values, positionals } = parseOptions(this, rest, { address: { type: 'string' } });
        noMoreWords(this, positionals.slice(1));
        const name = required(this, positionals[0], 'The cluster name');
        const status = await call(session, () => session.call('cluster-create', { name, address: required(this, values.address, '--address'), user: session.user }));
        await session.membershipChanged();
        session.io.print(`Cluster ${status.name} created with ${status.machine} as its first machine (cluster version ${status.version}).`);
        return;
      }
      case 'token': {
        const { values, positionals } = parseOptions(this, rest, { ttl: { type: 'string' } });
        noMoreWords(this, positionals);
        const ttl = values.ttl === undefined ? 60 : Number(values.ttl);
        if (!Number.isInteger(ttl) || ttl < 1 || ttl > 10080) throw new CommandError('--ttl must be a whole number of minutes from 1 to 10080.');
        const { token, expires } = await call(session, () => session.call('cluster-token', { ttlMinutes: ttl }));
        session.io.print(`Join token for one machine, valid until ${expires} (keep it secret: it opens the cluster's keys):`, token);
        return;
      }
      case 'join': {
        const { values, positionals } = parseOptions(this, rest, { token: { type: 'string' }, address: { type: 'string' } });
        noMoreWords(this, positionals.slice(1));
        if (session.hasChanges()) throw new CommandError('There are uncommitted changes. Commit them or run "clearchanges" first: joining replaces the shared settings.');
        const at = required(this, positionals[0], 'The address of a member (IP:PORT)');
        const status = await call(session, () => session.call('cluster-join', { at, token: required(this, values.token, '--token'), address: required(this, values.address, '--address') }));
        await session.membershipChanged();
        session.io.print(`${status.machine} joined cluster ${status.name}; it runs cluster version ${status.applied}.`);
        return;
      }
      case 'list': {
        noMoreWords(this, rest);
        const machines = await call(session, () => session.call('cluster-list', {}));
        session.io.print(`Cluster ${session.clusterName ?? ''}`.trimEnd(), ...clusterMemberRows(machines));
        return;
      }
      case 'leave': {
        noMoreWords(this, rest);
        if (session.io.interactive && !(await session.io.confirm('This machine will leave the cluster and keep its current configuration as its own. Continue?', false))) return;
        const { left } = await call(session, () => session.call('cluster-leave', { user: session.user }));
        await session.membershipChanged();
        session.io.print(`This machine left cluster ${left}; its configuration is its own again.`);
        return;
      }
      case 'removemachine': {
        const [machine, ...extra] = rest;
        noMoreWords(this, extra);
        const { removed } = await call(session, () => session.call('cluster-remove', { machine: required(this, machine, 'The machine name'), user: session.user }));
        session.io.print(`${removed} was removed from the cluster.`);
        return;
      }
      case 'addgroup':
      case 'removegroup':
      case 'setgroup': {
        const action = sub.toLowerCase() === 'addgroup' ? 'add' : sub.toLowerCase() === 'removegroup' ? 'remove' : 'set';
        const [first, second, ...extra] = rest;
        noMoreWords(this, action === 'set' ? extra : [second, ...extra].filter((w): w is string => w !== undefined));
        const params = action === 'set' ? { machine: required(this, first, 'The machine name'), group: required(this, second, 'The group name') } : { group: required(this, first, 'The group name') };
        await amendCluster(session, () => session.call('cluster-group', { action, ...params, user: session.user }));
        return;
      }
      default:
        throw new CommandError(`Usage: ${this.usage.join('\n       ')}`);
    }
  },
};
