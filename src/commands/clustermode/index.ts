import { type Command, noMoreWords, required } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';

/** clustermode: the level the session's edits go to in a cluster (cluster, a group, a machine), shown in the prompt. */
export const clustermode: Command = {
  name: 'clustermode',
  summary: 'Choose the cluster level (cluster, group or machine) your changes go to',
  usage: ['clustermode cluster', 'clustermode group NAME', 'clustermode machine NAME'],
  details: [
    'Every setting of a machine resolves machine -> group -> cluster. Host name, interfaces and listener',
    'workers exist only at machine level, accounts only at cluster level. Certificate profiles resolve by',
    'name: a machine-level profile named like a cluster-level one is the one that machine presents.',
  ],
  keywords: ['cluster', 'group', 'machine'],
  async run(session, args) {
    await session.load();
    if (!session.clusterName) throw new CommandError('This machine is not in a cluster: "clusterconfig create" or "clusterconfig join" first.');
    const [kind, name, ...extra] = args;
    noMoreWords(this, extra);
    switch (kind?.toLowerCase()) {
      case 'cluster':
        noMoreWords(this, name === undefined ? [] : [name]);
        await session.setLevel({ kind: 'cluster' });
        break;
      case 'group':
      case 'machine': {
        const k = kind.toLowerCase() as 'group' | 'machine';
        await session.setLevel({ kind: k, name: required(this, name, `The ${k} name`) });
        break;
      }
      default:
        throw new CommandError(`Usage: ${this.usage.join('\n       ')}`);
    }
    session.io.print(`Changes now go to: ${session.promptName.replace(/^[^(]*\(|\)$/g, '')}.`);
  },
};
