import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { checkPassword } from '../../store/accounts/users.js';
import { clientAddress, eta, field, type GuiDeps, LOGIN_COOKIE, type Router, SESSION_COOKIE } from '../gui.js';
import { sameToken, token } from '../guiSessions.js';

const COOKIE = { path: '/', secure: true, httpOnly: true, sameSite: 'strict' } as const;

/**
 * Log in and out. The login form is protected like every other form: its token is paired with a
 * short-lived cookie. Failures are counted per address and per account (LoginGuard) and written
 * to the audit log; the page never says whether the account exists.
 */
export function loginRoutes(_router: Router, deps: GuiDeps, app: FastifyInstance): void {
  // One token per browser while it logs in: a second tab or a favicon fetch must not void the first form.
  const form = (req: FastifyRequest, reply: FastifyReply, message?: string, code = 200) => {
    const kept = req.cookies[LOGIN_COOKIE];
    const t = kept && /^[A-Za-z0-9_-]{43}$/.test(kept) ? kept : token();
    reply.setCookie(LOGIN_COOKIE, t, { ...COOKIE, maxAge: 600 });
    const { config } = deps.committed();
    return reply.code(code).type('text/html; charset=utf-8').send(eta.render('login', { csrf: t, message, hostname: config.hostname, noAccounts: config.users.length === 0 }));
  };

  app.get('/login', { config: { public: true } }, (req, reply) => form(req, reply));
  app.get('/favicon.ico', { config: { public: true } }, (_req, reply) => reply.code(204).send());

  app.post('/login', { config: { public: true } }, async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (!sameToken(field(body, '_csrf'), req.cookies[LOGIN_COOKIE])) return form(req, reply, 'The login form had expired; please try again.', 403);
    const address = clientAddress(req);
    const name = field(body, 'username').toLowerCase();
    const password = typeof body.password === 'string' ? body.password : '';
    // Counted before the password is checked, so parallel guesses cannot pass the limit.
    const verdict = deps.guard.begin(address, name);
    if (!verdict.ok) {
      deps.audit.write('Warning', `GUI login refused for ${name || '(empty)'} from ${address}: ${verdict.reason === 'locked' ? 'account locked' : 'too many failures from this address'}`);
      reply.header('Retry-After', String(verdict.retryAfterSeconds));
      return form(req, reply, `Too many failed logins${verdict.reason === 'locked' ? ' for this account from your address' : ' from your address'}; try again in ${verdict.retryAfterSeconds} s.`, 429);
    }
    const user = await checkPassword(deps.committed().config, name, password);
    if (!user) {
      const { locked } = deps.guard.failed(verdict.attempt);
      deps.audit.write('Warning', `GUI login failed for ${name || '(empty)'} from ${address}${locked ? `; the account is locked for 15 minutes from ${address}` : ''}`);
      return form(req, reply, 'Login failed: wrong account name or password.', 401);
    }
    deps.guard.succeeded(verdict.attempt);
    const session = deps.sessions.create(user, address);
    deps.audit.write('Info', `GUI login: ${user.name} (${user.role}) from ${address}`);
    reply.clearCookie(LOGIN_COOKIE, COOKIE);
    reply.setCookie(SESSION_COOKIE, session.id, COOKIE);
    return reply.redirect('/', 303);
  });

  app.post('/logout', { config: { needs: 'guest' } }, (req, reply) => {
    deps.sessions.end(req.gui!.id);
    deps.audit.write('Info', `GUI logout: ${req.gui!.user} from ${clientAddress(req)}`);
    reply.clearCookie(SESSION_COOKIE, COOKIE);
    return reply.redirect('/login', 303);
  });
}
