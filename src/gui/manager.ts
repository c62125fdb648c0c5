import http from 'node:http';
import net from 'node:net';
import type https from 'node:https';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../store/schema.js';
import type { Principal } from '../control/protocol.js';
import type { FrontEnd, SessionOrigin } from '../engine/frontEnds.js';
import { presentedCredentials } from '../store/certificates/keys.js';
import type { HttpsStatus } from '../control/protocol.js';
import { ApplyError, applyBindings, explainBindError } from '../engine/bindings.js';
import { buildGui, type GuiDeps, type PageModule } from './gui.js';
import { httpsContext, httpsServerOptions } from './tlsProfile.js';
import { ConnectionGate } from '../access/connectionGate.js';

/**
 * Before its first request is answered a connection is a stranger's: at most PER_ADDRESS of those
 * from one address, WAITING in all (the oldest makes room), each with FIRST_ANSWER_MS from TCP
 * accept to its first answer (TLS handshake and request included; the login page is an answer).
 */
const PER_ADDRESS = 16;
const WAITING = 256;
const FIRST_ANSWER_MS = 15_000;

export interface HttpsMaterial {
  profile: string;
  key: string;
  cert: string;
}

interface Binding {
  iface: string;
  ip: string;
  /** The name browsers should use (the interface's host name), for the HTTP redirect. */
  host: string;
  port: number;
  httpRedirect: number | null;
  material: HttpsMaterial;
}

interface Running {
  binding: Binding;
  app: FastifyInstance;
  redirect?: http.Server;
}

const sameAddress = (a: Binding, b: Binding) => a.ip === b.ip && a.port === b.port && a.httpRedirect === b.httpRedirect && a.host === b.host;

/**
 * The HTTPS management interface on every interface that has it on, kept in line with the
 * committed configuration like the SMTP listeners: a new certificate is swapped into the running
 * server (open connections keep theirs), a new address or port starts a new server before the old
 * one stops, and an address that cannot be bound fails the whole commit with nothing changed.
 */
export class HttpsManager implements FrontEnd {
  private readonly running = new Map<string, Running>();
  private readonly gate: ConnectionGate;
  /** Connections not yet answered, by remote address and port. */
  private readonly waiting = new Map<string, { pass: () => void }>();
  private readonly deps: GuiDeps;

  constructor(
    deps: GuiDeps,
    private readonly modules: PageModule[],
    private readonly ticketKeys: { current: Buffer },
  ) {
    this.gate = new ConnectionGate(
      () => ({ perAddress: PER_ADDRESS, total: WAITING, deadlineMs: Number(process.env.MXGATE_HTTPS_FIRST_ANSWER_SECONDS) * 1000 || FIRST_ANSWER_MS }),
      { waiting: 'waiting for their first answer', late: 'no complete request' },
      (address, why) => deps.audit.write('Warning', `HTTPS connection from ${address} refused: ${why}`),
    );
    this.deps = { ...deps, answered: (address, port) => this.waiting.get(`${address}|${port}`)?.pass() };
  }

  async apply(config: Config, options: { bestEffort?: boolean } = {}): Promise<string[]> {
    let material: Map<string, HttpsMaterial>;
    try {
      material = await this.material(config);
    } catch (err) {
      throw new ApplyError(`HTTPS: ${(err as Error).message}`);
    }
    const wanted = new Map<string, Binding>();
    for (const i of config.interfaces) {
      if (!i.https) continue;
      const m = material.get(i.name);
      if (!m) throw new ApplyError(`HTTPS on interface ${i.name}: no certificate to present`);
      wanted.set(i.name, { iface: i.name, ip: i.ip, host: i.hostname ?? config.hostname, port: i.https.port, httpRedirect: i.https.httpRedirect, material: m });
    }
    return applyBindings(
      this.running,
      wanted,
      {
        sameAddress: (r, binding) => sameAddress(r.binding, binding),
        start: (binding) => this.start(binding),
        stop,
        // A kept service swaps its certificate in place; sessions in progress keep theirs.
        update: (r, binding) => {
          if (r.binding.material.cert === binding.material.cert && r.binding.material.key === binding.material.key) return;
          (r.app.server as https.Server).setSecureContext(httpsContext(binding.material, this.ticketKeys.current));
          r.binding = binding;
        },
        failure: (name, binding, err) => `HTTPS on interface ${name}: ${explainBindError(err as NodeJS.ErrnoException, binding.ip, (err as { port?: number }).port ?? binding.port)}`,
      },
      options,
    );
  }

  /** The certificate the HTTPS service of each interface presents (its profile or the demo certificate). */
  private async material(config: Config): Promise<Map<string, HttpsMaterial>> {
    const out = new Map<string, HttpsMaterial>();
    for (const i of config.interfaces) {
      if (!i.https) continue;
      const material = await presentedCredentials(this.deps.paths, config, i.https.certificate);
      if (material) out.set(i.name, material);
    }
    return out;
  }

  /** Where a GUI session's last request came in (the lock-out guard of commits). */
  origin(session: string): SessionOrigin | undefined {
    const s = this.deps.sessions.peek(session);
    return s?.via && { service: 'HTTPS', ip: s.via.ip, port: s.via.port, account: s.user };
  }

  /** After a commit: GUI sessions of accounts that changed end. */
  committed(config: Config, committer: Principal): void {
    this.deps.sessions.retain(config.users, committer);
  }

  /** A new session ticket key (rotation) for every running server. */
  setTicketKeys(key: Buffer): void {
    for (const r of this.running.values()) (r.app.server as https.Server).setTicketKeys(key);
  }

  status(): { https: HttpsStatus[] } {
    const config = this.deps.committed().config;
    const metrics = (name: string) => config.interfaces.some((i) => i.name === name && i.metrics);
    return {
      https: [...this.running.values()].map(({ binding: b }) => ({ interface: b.iface, ip: b.ip, port: b.port, httpRedirect: b.httpRedirect, certificate: b.material.profile, ...(metrics(b.iface) ? { metrics: true } : {}) })),
    };
  }

  async closeAll(): Promise<void> {
    const all = [...this.running.values()];
    this.running.clear();
    await Promise.all(all.map(stop));
  }

  private async start(binding: Binding): Promise<Running> {
    const app = await buildGui(this.deps, httpsServerOptions(binding.material, this.ticketKeys.current), this.modules);
    // The raw TCP connection, before TLS: counted from here until its first request is answered.
    app.server.on('connection', (socket: import('node:net').Socket) => {
      const admitted = this.gate.admit(socket);
      if (!admitted) return;
      const key = `${socket.remoteAddress}|${socket.remotePort}`;
      this.waiting.set(key, admitted);
      socket.once('close', () => this.waiting.delete(key));
    });
    await app.listen({ host: binding.ip, port: binding.port });
    if (binding.httpRedirect === null) return { binding, app };
    const redirect = http.createServer((req, res) => {
      res.writeHead(301, { Location: `https://${redirectHost(binding, req.headers.host)}:${binding.port}${(req.url ?? '/').startsWith('/') ? req.url : '/'}` }).end();
    });
    try {
      await new Promise<void>((resolve, reject) => {
        redirect.once('error', (err) => reject(Object.assign(err, { port: binding.httpRedirect })));
        redirect.listen(binding.httpRedirect!, binding.ip, () => resolve());
      });
    } catch (err) {
      await app.close();
      throw err;
    }
    return { binding, app, redirect };
  }
}

async function stop(r: Running): Promise<void> {
  await Promise.all([r.app.close(), r.redirect && new Promise<void>((resolve) => r.redirect!.close(() => resolve()))]);
}

/**
 * Where the HTTP redirect sends a browser: to the name or address it used when that is one of
 * the interface's own (its address, its host name), else to the interface's address. A Host
 * header never chooses anything else (no open redirect).
 */
export function redirectHost(binding: { ip: string; host: string }, hostHeader: string | undefined): string {
  const asked = (hostHeader ?? '').trim().toLowerCase();
  const name = asked.startsWith('[') ? asked.slice(1, asked.indexOf(']')) : asked.replace(/:\d+$/, '');
  if (name !== '' && name === binding.host.toLowerCase().replace(/\.$/, '')) return binding.host;
  // The interface's address: what the browser used if it used an address of this interface, and the safe answer otherwise.
  return net.isIP(binding.ip) === 6 ? `[${binding.ip}]` : binding.ip;
}
