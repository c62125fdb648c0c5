import { EngineError } from '../../control/client.js';
import { shellTime } from '../../store/dates.js';
import type { Command } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import type { Session } from '../../shell/session.js';
import { hasControlCharacters } from '../../store/text.js';

/** Commit the session's draft; shared by `commit` and the exit question. */
export async function commitDraft(session: Session, comment: string, options: { rollbackTo?: number } = {}): Promise<void> {
  // Other administrators see comments in their terminals: no escape sequences, no line breaks.
  if (hasControlCharacters(comment)) throw new CommandError('The comment contains control characters (escape sequences, tabs or line breaks); type plain text. Nothing was committed.');
  const base = session.baseVersion;
  try {
    const meta = await session.commit(comment, options);
    session.io.print(`Changes committed: ${shellTime(meta.time)} (version ${meta.version})`);
    for (const note of meta.notes ?? []) session.io.print(`Note: ${note}`);
  } catch (err) {
    if (!(err instanceof EngineError)) throw err;
    switch (err.code) {
      case 'stale':
        throw new CommandError(
          `Commit refused: ${err.message}\nYour changes are kept in this session: "showchanges" lists them; "clearchanges" discards them and starts from the newest version.`,
        );
      case 'apply':
      case 'invalid':
        throw new CommandError(
          `Commit failed: ${err.message}\nThe appliance is still running version ${base}; your changes are kept in this session. Correct them and commit again.`,
        );
      case 'no-changes':
        session.io.print(err.message);
        return;
      case 'unavailable':
        throw new CommandError(`Commit refused: ${err.message} Your changes are kept in this session; commit again when the cluster answers.`);
      default:
        throw new CommandError(`Commit failed: ${err.message}`);
    }
  }
}

export const commit: Command = {
  name: 'commit',
  summary: 'Apply the pending changes to the running appliance',
  usage: ['commit [COMMENT]'],
  details: [
    'The engine validates the whole configuration, applies it (starting, stopping and rebinding',
    'listeners) and records it as a new version only when that succeeded. If another session',
    'committed after yours began, the commit is refused and your changes are kept.',
    'At a terminal, commit without a comment asks for one.',
  ],
  async run(session, args) {
    if (!session.hasChanges()) {
      session.io.print('There is no data to commit.');
      return;
    }
    let comment = args.join(' ');
    if (args.length === 0 && session.io.interactive) {
      comment = await session.io.ask('Please enter some comments describing your changes:', { default: '', allowEmpty: true });
    }
    await commitDraft(session, comment);
  },
};
