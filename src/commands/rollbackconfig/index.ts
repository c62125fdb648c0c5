import { ctime } from '../../store/dates.js';
import type { Command } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { formatTable } from '../../shell/table.js';
import type { Session } from '../../shell/session.js';
import type { VersionMeta } from '../../store/versions.js';
import { commitDraft } from '../commit/index.js';
import { escapeControls } from '../../store/text.js';

function printTable(session: Session, versions: VersionMeta[]): void {
  const rows = versions.map((v) => (v.unreadable ? [String(v.version), '-', '-', `UNREADABLE: ${v.unreadable}`] : [String(v.version), ctime(new Date(v.time)), escapeControls(v.user), escapeControls(v.comment) || '-']));
  const [head, ...lines] = formatTable(['#', 'Committed On', 'User', 'Description'], rows);
  session.io.print(head!, ...lines.map((l, i) => l + (Number(rows[i]![0]) === session.baseVersion ? '  (current)' : '')));
}

async function loadVersion(session: Session, version: number) {
  if (session.hasChanges()) {
    throw new CommandError('There are uncommitted changes. Commit them or run "clearchanges" before rolling back.');
  }
  const rec = await session.call('version', { version });
  if (JSON.stringify(rec.config) === JSON.stringify(session.committed)) {
    throw new CommandError(`Version ${version} is the same as the running configuration (version ${session.baseVersion}); nothing to roll back.`);
  }
  session.draft = rec.config;
  return rec;
}

export const rollbackconfig: Command = {
  name: 'rollbackconfig',
  summary: 'Go back to an earlier committed configuration',
  usage: ['rollbackconfig VERSION', 'rollbackconfig list', 'rollbackconfig'],
  maxWords: 1,
  details: [
    'rollbackconfig VERSION reverts to that version and commits it at once, as a new version.',
    'Without arguments it lists the versions and asks which one to revert to.',
  ],
  keywords: ['list'],
  async run(session, args) {
    const [arg] = args;
    if (args.length > 1) throw new CommandError(`Usage: ${this.usage.join(' | ')}`);
    if (arg?.toLowerCase() === 'list') {
      printTable(session, await session.call('history'));
      return;
    }
    if (arg !== undefined) {
      if (!/^\d+$/.test(arg)) throw new CommandError(`"${arg}" is not a version number. "rollbackconfig list" shows them.`);
      await loadVersion(session, Number(arg));
      await commitDraft(session, `Rollback to version ${Number(arg)}`, { rollbackTo: Number(arg) });
      return;
    }
    const versions = await session.call('history');
    printTable(session, versions);
    const version = await session.io.ask('Enter the number of the config to revert to.', {
      allowEmpty: true,
      validate: (s) => {
        if (s === '') return undefined;
        if (!versions.some((v) => String(v.version) === s && !v.unreadable)) throw new CommandError('That value is not valid.');
        return Number(s);
      },
    });
    if (version === undefined) return;
    await loadVersion(session, version);
    if (await session.io.confirm('Do you want to commit this configuration now?', true)) {
      await commitDraft(session, `Rollback to version ${version}`, { rollbackTo: version });
    } else {
      session.io.print(`Version ${version} is loaded as pending changes; use "commit" to apply it.`);
    }
  },
};
