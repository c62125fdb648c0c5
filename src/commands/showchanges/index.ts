import type { Command } from '../../shell/command.js';
import { diffConfig, formatChanges } from '../../store/diff.js';
import { maskSecrets } from '../../store/secrets.js';

export const showchanges: Command = {
  name: 'showchanges',
  summary: 'List the pending changes (draft against the committed version)',
  usage: ['showchanges'],
  maxWords: 0,
  details: ['Lines start with "+" (added), "-" (removed) or "~" (changed: old -> new). Secrets are masked.'],
  async run(session) {
    const changes = diffConfig(maskSecrets(session.committed), maskSecrets(session.draft));
    if (changes.length === 0) {
      session.io.print('No changes have been made.');
      return;
    }
    const where = session.levelName ? ` at ${session.levelName} (commit sets them at this level), against cluster version` : ' against version';
    session.io.print(`Pending changes${where} ${session.baseVersion}:`, ...formatChanges(changes));
  },
};
