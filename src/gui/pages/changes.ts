import { ControlError } from '../../control/dispatch.js';
import { shellTime } from '../../store/dates.js';
import { clientAddress, done, field, type GuiDeps, render, type Router } from '../gui.js';
import { catchUp } from '../gui.js';
import { pendingChanges } from '../guiSessions.js';

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
    try {
      const meta = await page.call('commit', { baseVersion: s.base!.version, config: s.pending!, comment: field(page.form, 'comment'), user: s.user });
      s.base = { version: meta.version, config: structuredClone(s.pending!) };
      deps.audit.write('Info', `GUI commit: version ${meta.version} by ${s.user} from ${clientAddress(page.req)}${meta.comment ? `: ${meta.comment}` : ''}`);
      return done(page, back, 'ok', `Your changes have been committed as version ${meta.version}.`);
    } catch (err) {
      if (!(err instanceof ControlError)) throw err;
      const hint = err.code === 'stale' ? ' Abandon your changes to start again from the newest version.' : '';
      return done(page, back, 'error', `Commit refused: ${err.message}${hint}`);
    }
  });

  router.post('/abandon', async (page) => {
    const s = page.session;
    delete s.base;
    delete s.pending;
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
      if (pendingChanges(page.session).length === 0) return done(page, '/commits', 'error', `Version ${version} is the same as the running configuration; nothing to roll back.`);
      return done(page, '/commits', 'ok', `Version ${version} is loaded as pending changes; Commit Changes applies it.`);
    } catch (err) {
      if (err instanceof ControlError) return done(page, '/commits', 'error', err.message);
      throw err;
    }
  });
}
