import { ctime } from '../../store/dates.js';
import type { Command } from '../../shell/command.js';

export const clearchanges: Command = {
  name: 'clearchanges',
  aliases: ['clear'],
  summary: 'Discard the pending changes',
  usage: ['clearchanges'],
  maxWords: 0,
  details: ['Also moves the session to the newest committed version (after a refused commit, for example).'],
  async run(session) {
    if (!session.hasChanges()) {
      await session.clear();
      session.io.print('No changes have been made.');
      return;
    }
    if (session.io.interactive && !(await session.io.confirm('Are you sure you want to clear all changes since the last commit?', true))) {
      session.io.print('Changes kept.');
      return;
    }
    await session.clear();
    session.io.print(`Changes cleared: ${ctime()}`);
  },
};
