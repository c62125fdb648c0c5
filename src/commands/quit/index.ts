import type { Command } from '../../shell/command.js';
import { commitDraft } from '../commit/index.js';

export const quit: Command = {
  name: 'quit',
  aliases: ['exit'],
  summary: 'Leave the shell',
  usage: ['quit', 'exit'],
  maxWords: 0,
  needsConfig: false,
  async run(session) {
    // Set only once the questions are answered: Ctrl-C or Ctrl-D at them keeps the shell open.
    if (session.hasChanges()) {
      if (session.io.interactive && (await session.io.confirm('There are uncommitted changes. Do you want to commit before exiting?', false))) {
        const comment = await session.io.ask('Please enter some comments describing your changes:', { default: '', allowEmpty: true });
        await commitDraft(session, comment);
      } else {
        session.io.warn('Uncommitted changes were discarded.');
      }
    }
    session.quitRequested = true;
  },
};
