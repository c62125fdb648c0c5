import type { FastifyInstance } from 'fastify';
import type { GuiDeps, Router } from '../gui.js';

/**
 * /metrics, for Prometheus: no login session (a scraper has none); the engine decides from the
 * interface it came in on, the bearer token and the client address (metricsconfig). Refusals are
 * counted like any stranger's request by the connection gate.
 */
export function metricsRoutes(_router: Router, deps: GuiDeps, app: FastifyInstance): void {
  app.get('/metrics', { config: { public: true } }, async (req, reply) => {
    const answer = await deps.scrape({
      localAddress: req.socket.localAddress ?? '',
      localPort: req.socket.localPort ?? 0,
      clientAddress: req.socket.remoteAddress ?? '',
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    });
    if (answer.status === 200) return reply.type(answer.contentType).send(answer.body);
    if (answer.status === 401) reply.header('WWW-Authenticate', 'Bearer realm="mxgate metrics"');
    return reply.code(answer.status).type('text/plain').send(answer.body);
  });
}
