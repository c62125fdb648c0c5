import { type Command, noMoreWords, parseOptions } from '../../shell/command.js';
import { changeCount, describeChanges, sectionLines } from '../../store/describe/changes.js';
import { diffConfig, formatChanges } from '../../store/diff.js';
import { maskSecrets } from '../../store/secrets.js';

export const showchanges: Command = {
  name: 'showchanges',
  summary: 'List the pending changes (draft against the committed version)',
  usage: ['showchanges [--raw]'],
  details: [
    'The changes are grouped by the command that makes them, in the order commit puts them in service.',
    '--raw: one line per changed value of the configuration document: "+" added, "-" removed, "~" changed (old -> new). Secrets are masked.',
  ],
  async run(session, args) {
    const { values, positionals } = parseOptions(this, args, { raw: { type: 'boolean' } });
    noMoreWords(this, positionals);
    if (!session.hasChanges()) {
      session.io.print('No changes have been made.');
      return;
    }
    const where = session.levelName ? ` at ${session.levelName} (commit sets them at this level), against cluster version` : ' against version';
    if (values.raw) {
      session.io.print(`Pending changes${where} ${session.baseVersion}:`, ...formatChanges(diffConfig(maskSecrets(session.committed), maskSecrets(session.draft))));
      return;
    }
    // Read from the documents themselves (a changed password is a change), never printing a secret.
    const list = describeChanges(session.committed, session.draft);
    const n = changeCount(list);
    session.io.print(`${n} pending change${n === 1 ? '' : 's'}${where} ${session.baseVersion}, in the order commit puts them in service:`, ...sectionLines(list));
  },
};
