import { shellTime } from '../store/dates.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import { Eta } from 'eta';
import type { TlsOptions } from 'node:tls';
import type { Caller, OperationTable } from '../control/protocol.js';
import { callerFor, ControlError } from '../control/dispatch.js';
import type { VersionRecord } from '../store/versions.js';
import type { DataPaths } from '../store/paths.js';
import type { Config } from '../store/schema.js';
import { hasRole } from '../store/accounts/users.js';
import { UserError } from '../userError.js';
import { changeCount, describeChanges } from '../store/describe/changes.js';
import { levelText, levelWords, parseLevel } from '../store/cluster/levels.js';
import { type GuiSession, type GuiSessions, pendingChanges, sameToken } from './guiSessions.js';
import type { LoginGuard } from '../access/loginGuard.js';
import type { AuditLog } from '../access/audit.js';
import { HSTS } from './tlsProfile.js';
import { countProblem } from '../store/grammar.js';
import { ConfigError } from '../store/schema.js';
import type { FrontEndContext } from '../engine/frontEnds.js';

/** Templates and the style sheet live beside the code, not in a build: gui/ at the package root. */
const GUI_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../gui');
const eta = new Eta({ views: path.join(GUI_DIR, 'views'), autoEscape: true, cache: true });
const STYLE = readFileSync(path.join(GUI_DIR, 'static', 'app.css'));

export const SESSION_COOKIE = 'mxgate_session';
export const LOGIN_COOKIE = 'mxgate_login';

export interface GuiDeps {
  /** The engine's operation table: a session commits, reads status and history through it, as its account. */
  operations: OperationTable;
  /** The committed configuration, for logging in (before there is an account to act as). */
  committed: () => VersionRecord;
  paths: DataPaths;
  sessions: GuiSessions;
  guard: LoginGuard;
  audit: AuditLog;
  /** /metrics: the engine's answer for a request (it decides who may read them). */
  scrape: FrontEndContext['scrape'];
  /** A connection's first request was answered (the connection gate stops counting it as a stranger's). */
  answered?: (address: string, port: number) => void;
}

/** Who may do what: guests look, operators change all but certificates and accounts, administrators all. */

export type Need = 'operator' | 'administrator';

/** What a page handler gets: the request, the session and the helpers to render, edit and redirect. */
export interface Page {
  req: FastifyRequest;
  reply: FastifyReply;
  session: GuiSession;
  deps: GuiDeps;
  /** The engine's operations, as this session's account (the engine decides what it may do). */
  call: Caller;
  /** The session's view of the configuration: committed plus its pending changes. */
  draft: Config;
  /** The form fields (strings; files as Buffers for multipart forms). */
  form: Record<string, unknown>;
  /** A newer version was committed elsewhere while this session has pending changes. */
  stale?: { version: number; user: string; time: string };
}

declare module 'fastify' {
  interface FastifyRequest {
    gui?: GuiSession;
  }
  interface FastifyContextConfig {
    /** Routes that need no login (login page, style sheet). */
    public?: boolean;
    /** The role a POST needs; every POST needs at least an operator unless it says otherwise. */
    needs?: Need | 'guest';
    /** A form that uploads files (multipart); no other route parses multipart bodies. */
    uploads?: boolean;
  }
}

/** A field of a submitted form as a trimmed string ('' when absent). */
export const field = (form: Record<string, unknown>, name: string): string => {
  const v = form[name];
  return typeof v === 'string' ? v.trim() : Array.isArray(v) && typeof v[0] === 'string' ? v[0].trim() : '';
};

/** A whole-number field in its range; the shell's words (countProblem) when it is not. */
export function countField(form: Record<string, unknown>, name: string, what: string, limit: { min: number; max: number }): number {
  const value = field(form, name);
  const problem = countProblem(value, what, limit);
  if (problem) throw new ConfigError(problem);
  return Number(value);
}

/**
 * The session's draft, brought up to date first: without pending changes a session follows
 * commits made elsewhere (shell, another browser) at once; with changes it keeps its base and
 * the page says that a newer version exists (the commit would be refused, not overwrite it).
 */
export async function catchUp(deps: GuiDeps, s: GuiSession): Promise<{ stale?: { version: number; user: string; time: string } }> {
  const head = await asAccount(deps, s)('config', s.level ? { level: s.level } : {});
  s.cluster = head.cluster;
  s.levels = head.levels;
  if (head.confirmation) s.confirmation = head.confirmation;
  else delete s.confirmation;
  if (!s.cluster) delete s.level;
  if (!s.base || (s.base.version !== head.version && pendingChanges(s).length === 0)) {
    s.base = { version: head.version, config: head.config };
    s.pending = structuredClone(head.config);
    return {};
  }
  return s.base.version === head.version ? {} : { stale: { version: head.version, user: head.user, time: head.time } };
}

export function render(page: Pick<Page, 'reply' | 'session' | 'stale'>, view: string, data: Record<string, unknown>): FastifyReply {
  const s = page.session;
  const flash = s.flash;
  const typed = s.typed ?? {};
  delete s.flash;
  delete s.typed;
  const changes = s.base && s.pending ? describeChanges(s.base.config, s.pending) : [];
  const html = eta.render(view, {
    ...data,
    me: { user: s.user, role: s.role, canEdit: hasRole(s.role, 'operator'), isAdmin: s.role === 'administrator' },
    // Which appliance this is, in the title and the header (several gateways are open in tabs).
    hostname: s.base?.config.hostname ?? '',
    csrf: s.csrf,
    flash,
    typed,
    pending: { count: changeCount(changes), sections: changes, base: s.base?.version },
    cluster: s.cluster
      ? { name: s.cluster, value: levelWords(s.level), options: (s.levels ?? ['cluster']).map((v) => ({ value: v, label: v === 'cluster' ? `Cluster ${s.cluster}` : levelText(parseLevel(v)) })) }
      : undefined,
    stale: page.stale,
    confirmation: s.confirmation && { ...s.confirmation, at: shellTime(s.confirmation.deadline), minutesLeft: Math.max(0, Math.ceil((Date.parse(s.confirmation.deadline) - Date.now()) / 60_000)) },
    path: page.reply.request.url.split('?')[0],
  });
  return page.reply.type('text/html; charset=utf-8').send(html);
}

/** After a POST: say what happened on the next page (post/redirect/get). */
export function done(page: Pick<Page, 'reply' | 'session'>, to: string, kind: 'ok' | 'error', text: string): FastifyReply {
  page.session.flash = { kind, text };
  return page.reply.redirect(to, 303);
}

/**
 * Apply an edit to the session's draft with the store's own functions: a refusal (the same words
 * the shell prints) comes back on the page and the draft stays as it was.
 */
export async function edit(page: Page, back: string, change: (draft: Config) => Config | Promise<Config>, ok: string): Promise<FastifyReply> {
  try {
    page.session.pending = await change(page.session.pending!);
    return done(page, back, 'ok', `${ok} Commit the changes to apply them.`);
  } catch (err) {
    if (err instanceof UserError || err instanceof ControlError) {
      page.session.typed = typedFields(page.form);
      return done(page, back, 'error', err.message);
    }
    throw err;
  }
}

/** The text fields of a refused form, to put back in front of the administrator: no passwords, no token, nothing long. */
function typedFields(form: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(form)) {
    if (k === '_csrf' || /pass|confirm|current|secret|key/i.test(k)) continue;
    if (typeof v === 'string' && v.length <= 2000) out[k] = v;
  }
  return out;
}

/** The engine's operations as a session's account. */
export const asAccount = (deps: GuiDeps, s: GuiSession): Caller => callerFor(deps.operations, { kind: 'account', name: s.user, session: s.id });

type PageHandler = (page: Page) => Promise<FastifyReply> | FastifyReply;

export interface Router {
  get(url: string, handler: PageHandler): void;
  post(url: string, handler: PageHandler, needs?: Need | 'guest'): void;
  /** A form with a file upload (multipart/form-data). */
  upload(url: string, handler: PageHandler, needs?: Need | 'guest'): void;
}

/** Upload forms: one file of at most 1 MiB and a few short fields, so a body stays within BODY_LIMIT. */
const BODY_LIMIT = 2 * 1024 * 1024;
const MULTIPART_LIMITS = { fileSize: 1024 * 1024, files: 1, fields: 20, fieldSize: 32 * 1024, parts: 21, headerPairs: 50 };

export type PageModule = (router: Router, deps: GuiDeps, app: FastifyInstance) => void;

/** The management interface's web application (one per HTTPS interface, all sharing deps). */
export async function buildGui(deps: GuiDeps, https: TlsOptions, modules: PageModule[]): Promise<FastifyInstance> {
  const app = Fastify({ https, logger: false, bodyLimit: BODY_LIMIT, return503OnClosing: true, connectionTimeout: 60_000, requestTimeout: 60_000 });
  await app.register(cookie);
  await app.register(formbody);
  await app.register(multipart, { attachFieldsToBody: 'keyValues', limits: MULTIPART_LIMITS });

  app.addHook('onRequest', async (req, reply) => {
    reply.header('Strict-Transport-Security', HSTS);
    reply.header('Content-Security-Policy', "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'no-referrer');
    reply.header('Cache-Control', 'no-store');
    // Multipart bodies are parsed as they stream in, outside the body limit: only upload forms,
    // only after login (checked below, before any parsing), and only with a length within the limit.
    if (req.headers['content-type']?.toLowerCase().startsWith('multipart/')) {
      if (!req.routeOptions.config.uploads) return reply.code(415).type('text/plain').send('This form takes no file uploads.\n');
      const length = Number(req.headers['content-length']);
      if (!(length > 0 && length <= BODY_LIMIT)) return reply.code(413).type('text/plain').send(`An upload must give its length and stay within ${BODY_LIMIT / 1024 / 1024} MiB.\n`);
    }
    if (req.routeOptions.config.public) return;
    const session = deps.sessions.get(req.cookies[SESSION_COOKIE]);
    if (!session) {
      if (req.method === 'GET') return reply.redirect('/login', 303);
      return reply.code(401).type('text/plain').send('Not logged in (or the session has ended).\n');
    }
    req.gui = session;
  });

  // Every form POST carries the session's token (a login form its own cookie's token).
  app.addHook('preHandler', async (req, reply) => {
    if (req.method !== 'POST' || req.routeOptions.config.public) return;
    const form = (req.body ?? {}) as Record<string, unknown>;
    if (!sameToken(field(form, '_csrf'), req.gui!.csrf)) {
      return reply.code(403).type('text/plain').send('This form is not from this session (missing or wrong CSRF token); reload the page and try again.\n');
    }
    const needs = req.routeOptions.config.needs ?? 'operator';
    if (!hasRole(req.gui!.role, needs)) {
      return reply.code(403).type('text/plain').send(`Your account (${req.gui!.role}) may not do this; it needs the ${needs} role.\n`);
    }
  });

  app.addHook('onResponse', async (req) => deps.answered?.(req.socket.remoteAddress ?? '', req.socket.remotePort ?? 0));

  app.get('/static/app.css', { config: { public: true } }, (_req, reply) => reply.type('text/css').header('Cache-Control', 'max-age=3600').send(STYLE));

  const page = async (req: FastifyRequest, reply: FastifyReply, handler: PageHandler) => {
    const session = req.gui!;
    session.via = { ip: (req.socket.localAddress ?? '').replace(/^::ffff:/, ''), port: req.socket.localPort ?? 0 };
    const { stale } = await catchUp(deps, session);
    const form = (req.body ?? {}) as Record<string, unknown>;
    return handler({ req, reply, session, deps, call: asAccount(deps, session), draft: session.pending!, form, ...(stale ? { stale } : {}) });
  };
  const router: Router = {
    get: (url, handler) => app.get(url, (req, reply) => page(req, reply, handler)),
    post: (url, handler, needs = 'operator') => app.post(url, { config: { needs } }, (req, reply) => page(req, reply, handler)),
    upload: (url, handler, needs = 'operator') => app.post(url, { config: { needs, uploads: true } }, (req, reply) => page(req, reply, handler)),
  };
  for (const register of modules) register(router, deps, app);

  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    if ((err.statusCode ?? 500) < 500) return reply.code(err.statusCode!).type('text/plain').send(`${err.message}\n`);
    deps.audit.write('Warning', `GUI error on ${req.method} ${req.url}: ${err.message}`);
    return reply.code(500).type('text/plain').send('Internal error; the details are in the GUI log.\n');
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).type('text/plain').send('No such page.\n'));
  return app;
}

/** The client's address as the socket sees it (no proxy headers are trusted). */
export const clientAddress = (req: FastifyRequest): string => req.socket.remoteAddress ?? 'unknown';

export { eta };
