import { ROLES } from '../../store/accounts/schema.js';
import { ConfigError } from '../../store/schema.js';
import { addSshKey, addUser, checkAccountName, deleteSshKey, deleteUser, findUser, hashPassword, parseRole, passwordProblem, setUser, sshKeysOf, verifyPassword } from '../../store/accounts/users.js';
import { UserError } from '../../userError.js';
import { ControlError } from '../../control/dispatch.js';
import { done, edit, field, type GuiDeps, type Page, render, type Router } from '../gui.js';

/** The new password of a form (typed twice), checked by the same rules as userconfig/passwd. */
async function newHash(page: Page, name: string): Promise<string> {
  const password = typeof page.form.password === 'string' ? page.form.password : '';
  if (password !== page.form.confirm) throw new ConfigError('The two passwords differ.');
  const problem = passwordProblem(name, password);
  if (problem) throw new ConfigError(problem);
  return hashPassword(password);
}

/** System Administration > Users (administrators), and every account's own password. */
export function userRoutes(router: Router, deps: GuiDeps): void {
  router.get('/users', async (page) => {
    const { lockouts } = await page.call('status', {});
    const lockedFrom = (name: string) => lockouts.find((l) => l.account === name)?.addresses ?? [];
    return render(page, 'users', { title: 'Users', users: page.draft.users.map((u) => ({ name: u.name, role: u.role, keys: sshKeysOf(page.draft, u.name), lockedFrom: lockedFrom(u.name) })), roles: ROLES });
  });

  // Acts at once, like the shell's "userconfig unlock": the engine's login guard, not the configuration.
  router.post(
    '/users/unlock',
    async (page) => {
      const name = field(page.form, 'name');
      try {
        const { lifted } = await page.call('unlock', { account: name });
        deps.audit.write('Info', `GUI unlock of ${name} by ${page.session.user}`);
        return done(page, '/users', 'ok', lifted ? `Account ${name} unlocked: it was locked out from ${lifted} address(es).` : `Account ${name} was not locked out; its failed logins are forgotten.`);
      } catch (err) {
        if (err instanceof ControlError) return done(page, '/users', 'error', err.message);
        throw err;
      }
    },
    'administrator',
  );

  router.post('/users/ssh-key', (page) => edit(page, '/users', (d) => addSshKey(d, field(page.form, 'name'), field(page.form, 'key')).config, `SSH key added to ${field(page.form, 'name')}.`), 'administrator');

  router.post('/users/ssh-key/delete', (page) => edit(page, '/users', (d) => deleteSshKey(d, field(page.form, 'name'), Number(field(page.form, 'n'))).config, `SSH key removed from ${field(page.form, 'name')}.`), 'administrator');

  router.post('/users/new', (page) => edit(page, '/users', async (d) => {
    const name = checkAccountName(field(page.form, 'name'));
    return addUser(d, { name, role: parseRole(field(page.form, 'role')), passwordHash: await newHash(page, name) });
  }, `Account ${field(page.form, 'name').toLowerCase()} created; it can log in after the commit.`), 'administrator');

  router.post('/users/role', (page) => edit(page, '/users', (d) => setUser(d, field(page.form, 'name'), { role: parseRole(field(page.form, 'role')) }), `The role of ${field(page.form, 'name')} changed.`), 'administrator');

  router.post('/users/password', (page) => edit(page, '/users', async (d) => setUser(d, field(page.form, 'name'), { passwordHash: await newHash(page, field(page.form, 'name')) }), `The password of ${field(page.form, 'name')} changed.`), 'administrator');

  router.post('/users/delete', (page) => edit(page, '/users', (d) => deleteUser(d, field(page.form, 'name')), `Account ${field(page.form, 'name')} deleted.`), 'administrator');

  // Anyone may change their own password, giving the current one. It is committed at once (a guest
  // cannot commit), on top of the running configuration; pending changes of the session stay pending.
  router.post(
    '/users/own-password',
    async (page) => {
      const s = page.session;
      const head = await page.call('config', {});
      const me = findUser(head.config, s.user);
      const current = typeof page.form.current === 'string' ? page.form.current : '';
      if (!me || !(await verifyPassword(me.passwordHash, current))) {
        deps.audit.write('Warning', `GUI password change refused for ${s.user}: wrong current password`);
        return done(page, '/users', 'error', 'The current password is wrong; nothing was changed.');
      }
      try {
        const passwordHash = await newHash(page, me.name);
        const next = setUser(head.config, me.name, { passwordHash });
        const meta = await page.call('commit', { baseVersion: head.version, config: next, comment: `Password change of ${me.name}`, user: me.name });
        if (s.base?.version === head.version) {
          s.base = { version: meta.version, config: next };
          s.pending = setUser(s.pending!, me.name, { passwordHash });
        }
        deps.audit.write('Info', `GUI password change: ${me.name} (version ${meta.version})`);
        return done(page, '/users', 'ok', `Your password changed (committed as version ${meta.version}).`);
      } catch (err) {
        if (err instanceof UserError || err instanceof ControlError) return done(page, '/users', 'error', err.message);
        throw err;
      }
    },
    'guest',
  );
}
