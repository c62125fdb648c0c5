import { EngineError } from '../../control/client.js';
import { shellTime } from '../../store/dates.js';
import type { Command } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import type { Session } from '../../shell/session.js';
import { hasControlCharacters, MAX_COMMENT_CHARS } from '../../store/text.js';
import { isConfirmMinutes } from '../../store/grammar.js';

/** Commit the session's draft; shared by `commit` and the exit question. */
export async function commitDraft(session: Session, comment: string, options: { rollbackTo?: number; confirmMinutes?: number; force?: boolean } = {}): Promise<void> {
  // Other administrators see comments in their terminals: no escape sequences, no line breaks.
  if (hasControlCharacters(comment)) throw new CommandError('The comment contains control characters (escape sequences, tabs, line breaks or bidirectional overrides); type plain text. Nothing was committed.');
  if (comment.length > MAX_COMMENT_CHARS) throw new CommandError(`The comment is ${comment.length} characters long; at most ${MAX_COMMENT_CHARS} are kept. Nothing was committed.`);
  const base = session.baseVersion;
  try {
    const meta = await session.commit(comment, options);
    session.io.print(`Changes committed: ${shellTime(meta.time)} (version ${meta.version})`);
    for (const note of meta.notes ?? []) session.io.print(`Note: ${note}`);
    if (meta.confirmation) {
      session.io.print(`Version ${meta.version} goes back to version ${meta.confirmation.previous} at ${shellTime(meta.confirmation.deadline)} unless "commit confirm" comes first (from any session).`);
    }
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
      case 'lock-out':
        if (session.io.interactive) {
          session.io.print(err.message, 'Sessions open now stay open; the next login this way will not work. "commit confirmed MINUTES" commits it so that it is undone unless you confirm it.');
          if (await session.io.confirm('Commit anyway?', false)) return commitDraft(session, comment, { ...options, force: true });
          session.io.print('Nothing was committed; your changes are kept in this session.');
          return;
        }
        throw new CommandError(`Commit refused: ${err.message}\nNothing was committed; your changes are kept. Use "commit confirmed MINUTES" to have it undone unless you confirm it, or "commit --force" if you have another way in.`);
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
  usage: ['commit [--force] [COMMENT]', 'commit confirmed MINUTES [COMMENT]', 'commit confirm', 'commit check'],
  details: [
    'The engine validates the whole configuration, applies it (starting, stopping and rebinding',
    'listeners) and records it as a new version only when that succeeded. If another session',
    'committed after yours began, the commit is refused and your changes are kept.',
    'At a terminal, commit without a comment asks for one. A comment starting with the words check,',
    'confirm, confirmed or --force is read as that form: give it more words ("commit \'check done\'").',
    '',
    'commit confirmed MINUTES (1 to 1440) applies the changes at once and goes back to the version',
    'before them (as a new version, with a System alert) unless "commit confirm" or another commit',
    'comes within MINUTES: for changes that may cut you off (interfaces, SSH, HTTPS, accounts).',
    'The deadline survives an engine restart; "status" shows it. In a cluster every member keeps',
    'it, and the whole cluster goes back even if the member that committed is down.',
    '',
    'commit check validates the pending changes and tries what a commit would (the ports it would',
    'bind, the certificates and keys it would load, the DNS resolvers it would use) without',
    'applying or recording anything. In a cluster it checks the version for every machine and',
    'tries this machine\'s part; the others try their own ports when they apply it.',
    '',
    'Over SSH or HTTPS, a commit that would keep you from logging in again the way you came',
    '(your account or SSH key deleted; the service moved, turned off or its interface gone) asks first; a',
    'script is refused unless it uses "commit confirmed" or --force.',
  ],
  async run(session, args) {
    const word = args[0]?.toLowerCase();
    if (word === 'confirm') {
      if (args.length > 1) throw new CommandError(`Usage: commit confirm`);
      const was = await session.call('commit-confirm', { user: session.user }).catch((err: unknown) => {
        if (err instanceof EngineError && err.code === 'no-changes') throw new CommandError(err.message);
        throw err;
      });
      session.io.print(`Version ${was.version} (committed by ${was.user}) is confirmed: it stays in service.`);
      return;
    }
    if (word === 'check') {
      if (args.length > 1) throw new CommandError('Usage: commit check');
      if (!session.hasChanges()) {
        session.io.print('There is no data to commit.');
        return;
      }
      const { problems, notes } = await session.check();
      for (const n of notes) session.io.print(`Note: ${n}`);
      if (problems.length) throw new CommandError(`The commit would fail:\n${problems.map((p) => `  ${p}`).join('\n')}\nNothing was applied or recorded.`);
      session.io.print('The pending changes can be committed: nothing was applied or recorded.');
      return;
    }
    let confirmMinutes: number | undefined;
    let force = false;
    if (word === '--force') {
      force = true;
      args = args.slice(1);
    } else if (word === 'confirmed') {
      const minutes = args[1] ?? '';
      if (!isConfirmMinutes(minutes)) throw new CommandError(`"commit confirmed" needs the minutes to wait for "commit confirm", 1 to 1440: commit confirmed MINUTES [COMMENT].`);
      confirmMinutes = Number(minutes);
      args = args.slice(2);
    }
    if (!session.hasChanges()) {
      session.io.print('There is no data to commit.');
      return;
    }
    let comment = args.join(' ');
    if (args.length === 0 && session.io.interactive) {
      comment = await session.io.ask('Please enter some comments describing your changes:', { default: '', allowEmpty: true });
    }
    await commitDraft(session, comment, { ...(confirmMinutes ? { confirmMinutes } : {}), ...(force ? { force } : {}) });
  },
};
