import { ctime } from '../../store/dates.js';
import type { Command } from '../../shell/command.js';
import { maskSecrets } from '../../store/secrets.js';

export const showconfig: Command = {
  name: 'showconfig',
  summary: 'Print the committed configuration (secrets masked)',
  usage: ['showconfig'],
  maxWords: 0,
  async run(session) {
    session.io.print(`Current Time: ${ctime()}`, `Configuration version: ${session.baseVersion}`);
    if (session.hasChanges()) session.io.print('(This session has uncommitted changes; "showchanges" lists them.)');
    await session.io.page(JSON.stringify(maskSecrets(session.committed), null, 2).split('\n'));
  },
};
