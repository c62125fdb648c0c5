import http from 'node:http';
import { ConnectionGate } from '../../access/connectionGate.js';
import type { Config } from '../../store/schema.js';
import { applyBindings, explainBindError } from '../bindings.js';

const PREFIX = '/.well-known/acme-challenge/';
/** What a stranger can hold: every caller is one (nobody logs in here). */
const LIMITS = { perAddress: 4, total: 64, deadlineMs: 10_000 };

/**
 * ACME HTTP-01 (RFC 8555 §8.3): plain HTTP on the ports interfaces name (`--acme-http`), answering
 * GET /.well-known/acme-challenge/TOKEN with the key authorization while that token's order is in
 * progress, and 404 for everything else. One request per connection, small and bounded.
 */
export class Http01Responder {
  private readonly tokens = new Map<string, string>();
  private readonly servers = new Map<string, http.Server>();
  private readonly gate: ConnectionGate;

  constructor(refused: (address: string, why: string) => void) {
    this.gate = new ConnectionGate(() => LIMITS, { waiting: 'open on the ACME HTTP-01 port', late: 'no request' }, refused);
  }

  /** Where HTTP-01 can be answered now ("IP:PORT"), for the order's error when there is nowhere. */
  get addresses(): string[] {
    return [...this.servers.keys()];
  }

  /** Answer `token` until the returned function is called. */
  offer(token: string, keyAuthorization: string): () => void {
    this.tokens.set(token, keyAuthorization);
    return () => this.tokens.delete(token);
  }

  /** Listen where the configuration says, stop where it no longer does; throws ApplyError when a port cannot be bound (bestEffort: returns why). */
  apply(config: Config, options: { bestEffort?: boolean } = {}): Promise<string[]> {
    // Keyed by address: an interface renamed or moved is a new responder, which is all it is.
    const wanted = new Map(config.interfaces.filter((i) => i.acmeHttp !== undefined).map((i) => [`${i.ip}:${i.acmeHttp}`, { iface: i.name, ip: i.ip, port: i.acmeHttp! }]));
    return applyBindings(this.servers, wanted, {
      sameAddress: () => true,
      start: (b) => this.listen(b.ip, b.port),
      stop: (server) => new Promise<void>((resolve) => server.close(() => resolve())),
      update: () => undefined,
      failure: (_key, b, err) => `the ACME HTTP-01 responder of interface ${b.iface}: ${explainBindError(err as NodeJS.ErrnoException, b.ip, b.port)}`,
    }, options);
  }

  async close(): Promise<void> {
    await Promise.all([...this.servers.values()].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.servers.clear();
  }

  private async listen(ip: string, port: number): Promise<http.Server> {
    const server = this.server();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, ip, () => resolve());
    });
    return server;
  }

  private server(): http.Server {
    const server = http.createServer({ maxHeaderSize: 4096, requestTimeout: 10_000, headersTimeout: 5_000, keepAlive: false }, (req, res) => {
      const url = req.url ?? '';
      const answer = (req.method === 'GET' || req.method === 'HEAD') && url.startsWith(PREFIX) ? this.tokens.get(url.slice(PREFIX.length)) : undefined;
      res.shouldKeepAlive = false;
      if (answer === undefined) res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not found\n');
      else res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(req.method === 'HEAD' ? undefined : answer);
    });
    server.on('connection', (socket) => this.gate.admit(socket));
    return server;
  }
}
