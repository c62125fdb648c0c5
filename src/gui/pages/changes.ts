import { ControlError } from '../../control/dispatch.js';
import { shellTime } from '../../store/dates.js';
import { clientAddress, done, field, type GuiDeps, type Page, render, type Router } from '../gui.js';
import { catchUp } from '../gui.js';
import { pendingChanges } from '../guiSessions.js';
import { diffConfig } from '../../store/diff.js';
import { levelText, parseLevel } from '../../store/cluster/levels.js';
import { UserError } from '../../userError.js';
import { isConfirmMinutes } from '../../store/grammar.js';

/** Check: what a commit would try (ports, certificates and keys, resolvers, who may), nothing applied or recorded. */
async function check(page: Page, back: string) {
  const s = page.session;
  try {
    const { problems, notes } = await page.call('commit-check', { baseVersion: s.base!.version, config: s.pending!, user: s.user, ...(s.cluster && s.level ? { level: s.level } : {}) });
    const said = notes.map((n) => ` Note: ${n}`).join('');
    if (problems.length) return done(page, back, 'error', `The commit would fail: ${problems.join('; ')}. Nothing was applied or recorded.${said}`);
    return done(page, back, 'ok', `The pending changes can be committed: nothing was applied or recorded.${said}`);
  } catch (err) {
    if (!(err instanceof ControlError)) throw err;
    return done(page, back, 'error', err.message);
  }
}

/**
 * The appliance's change model: Commit Changes (with a comment) and Abandon Changes on every
 * page, the commit history, and rollback to an earlier version (loaded as pending changes, then
 * committed like any other).
 */
export function changeRoutes(router: Router, deps: GuiDeps): void {
  router.post('/commit', async (page) => {
    const s = page.session;
    const back = field(page.form, 'back') || '/';
    if (pendingChanges(s).length === 0) return done(page, back, 'error', 'There are no pending changes to commit.');
    if (field(page.form, 'action') === 'check') return check(page, back);
    const minutes = field(page.form, 'confirmMinutes');
    if (minutes && !isConfirmMinutes(minutes)) return done(page, back, 'error', 'Undo after: give the minutes, 1 to 1440, or leave it empty. Nothing was committed.');
    try {
      // In a cluster: at the session's level; a rollback left as loaded takes every level back.
      const cluster = s.cluster
        ? { ...(s.level ? { level: s.level } : {}), ...(s.rollback && diffConfig(s.rollback.config, s.pending!).length === 0 ? { rollbackTo: s.rollback.version } : {}) }
        : {};
      const meta = await page.call('commit', { baseVersion: s.base!.version, config: s.pending!, comment: field(page.form, 'comment'), user: s.user, ...cluster, ...(minutes ? { confirmMinutes: Number(minutes) } : {}) });
      s.base = { version: meta.version, config: structuredClone(s.pending!) };
      delete s.rollback;
      deps.audit.write('Info', `GUI commit: version ${meta.version} by ${s.user} from ${clientAddress(page.req)}${meta.comment ? `: ${meta.comment}` : ''}`);
      const undo = meta.confirmation ? ` It goes back to version ${meta.confirmation.previous} at ${shellTime(meta.confirmation.deadline)} unless confirmed.` : '';
      const notes = (meta.notes ?? []).map((n) => ` Note: ${n}`).join('');
      return done(page, back, 'ok', `Your changes have been committed as version ${meta.version}.${undo}${notes}`);
    } catch (err) {
      if (!(err instanceof ControlError)) throw err;
      const hint =
        err.code === 'stale'
          ? ' Abandon your changes to start again from the newest version.'
          : err.code === 'lock-out'
            ? ' Nothing was committed. Commit with "Undo after" minutes to have it undone unless you confirm it from the new address or port.'
            : '';
      return done(page, back, 'error', `Commit refused: ${err.message}${hint}`);
    }
  });

  router.post('/commit/confirm', async (page) => {
    const back = field(page.form, 'back') || '/';
    try {
      const was = await page.call('commit-confirm', { user: page.session.user });
      deps.audit.write('Info', `GUI commit confirm: version ${was.version} by ${page.session.user} from ${clientAddress(page.req)}`);
      delete page.session.confirmation;
      return done(page, back, 'ok', `Version ${was.version} is confirmed: it stays in service.`);
    } catch (err) {
      if (!(err instanceof ControlError)) throw err;
      return done(page, back, 'error', err.message);
    }
  });

  // In a cluster: where this browser session's edits go (the shell's clustermode).
  router.post('/level', async (page) => {
    const s = page.session;
    const back = field(page.form, 'back') || '/';
    if (!s.cluster) return done(page, back, 'error', 'This machine is not in a cluster.');
    if (pendingChanges(s).length) return done(page, back, 'error', 'There are uncommitted changes at this level. Commit or abandon them before switching.');
    const before = s.level;
    try {
      s.level = parseLevel(field(page.form, 'level'));
      delete s.base;
      delete s.pending;
      await catchUp(deps, s);
    } catch (err) {
      if (!(err instanceof ControlError) && !(err instanceof UserError)) throw err;
      s.level = before;
      await catchUp(deps, s);
      return done(page, back, 'error', (err as Error).message);
    }
    const text = s.level.kind === 'cluster' ? `Cluster ${s.cluster}` : levelText(s.level);
    return done(page, back, 'ok', `Changes now go to: ${text}.`);
  });

  router.post('/abandon', async (page) => {
    const s = page.session;
    delete s.base;
    delete s.pending;
    delete s.rollback;
    await catchUp(deps, s);
    return done(page, field(page.form, 'back') || '/', 'ok', `Pending changes abandoned; you see version ${s.base!.version}.`);
  });

  router.get('/commits', async (page) => {
    const versions = await page.call('history', {});
    return render(page, 'commits', { title: 'Commit History', versions: versions.map((v) => ({ ...v, when: shellTime(v.time) })).reverse(), current: page.session.base!.version });
  });

  router.post('/commits/rollback', async (page) => {
    const version = Number(field(page.form, 'version'));
    if (pendingChanges(page.session).length) return done(page, '/commits', 'error', 'There are uncommitted changes. Commit or abandon them before rolling back.');
    if (!Number.isInteger(version) || version < 1) return done(page, '/commits', 'error', 'Choose a version to roll back to.');
    try {
      const rec = await page.call('version', { version });
      page.session.pending = rec.config;
      page.session.rollback = { version, config: structuredClone(rec.config) };
      if (pendingChanges(page.session).length === 0) return done(page, '/commits', 'error', `Version ${version} is the same as the running configuration; nothing to roll back.`);
      return done(page, '/commits', 'ok', `Version ${version} is loaded as pending changes; Commit Changes applies it.`);
    } catch (err) {
      if (err instanceof ControlError) return done(page, '/commits', 'error', err.message);
      throw err;
    }
  });
}
