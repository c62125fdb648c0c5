import { availableParallelism } from 'node:os';
import type { Config } from '../../store/schema.js';
import { sameName } from '../../store/schema.js';
import type { WorkerPool } from '../workers/pool.js';
import { type ListenerDeps, type ListenerState, listenerKey, SmtpListener, type TlsMaterial } from './smtpListener.js';

export class ApplyError extends Error {
  override name = 'ApplyError';
}

export interface ListenerStatus {
  name: string;
  certificate?: string;
  type: string;
  interface: string;
  ip: string;
  port: number;
  connections: number;
}


/**
 * Listener workers for a configuration. "auto" leaves two cores to the engine and the rest of the
 * machine (kernel, disk, delivery) and gives each further core a worker: on two cores a worker was
 * measured 8-25 % slower than the engine alone on every bench row (bench/vs-postfix.ts), because
 * the cores are already busy and the worker adds IPC and a second heap.
 */
export function workerCount(config: Config): number {
  return config.listenerWorkers === 'auto' ? Math.max(0, availableParallelism() - 2) : config.listenerWorkers;
}

export function explainBindError(err: NodeJS.ErrnoException, ip: string, port: number): string {
  switch (err.code) {
    case 'EADDRINUSE':
      return `${ip} port ${port} is already in use by another program`;
    case 'EADDRNOTAVAIL':
      return `address ${ip} is not configured on this machine`;
    case 'EACCES':
      return `permission denied to listen on ${ip} port ${port} (ports below 1024 need privileges)`;
    default:
      return `${ip} port ${port}: ${err.message}`;
  }
}

/**
 * Makes the running listeners match a configuration. Servers are keyed by address and port: a
 * listener whose address stays is updated in place; new addresses are bound first, and if any
 * bind fails everything new is closed again, so a failed apply leaves the old listeners running.
 */
export class ListenerManager {
  private readonly running = new Map<string, SmtpListener>();

  /** With `workers`, connections are spread over the engine and its listener workers. */
  constructor(
    private readonly deps: ListenerDeps,
    private readonly workers?: WorkerPool,
  ) {
    if (workers) this.deps = { ...deps, handOff: (listener, socket) => workers.handOff(listener.key, listener, socket) };
  }

  /**
   * Returns the listeners that could not start. Normally any failure undoes the whole apply and
   * throws; with `bestEffort` (engine start) the listeners that can run are started and the
   * failures are returned.
   */
  async apply(config: Config, tls: ReadonlyMap<string, TlsMaterial>, options: { bestEffort?: boolean } = {}): Promise<string[]> {
    const wanted = new Map<string, ListenerState>();
    for (const listener of config.listeners) {
      const iface = config.interfaces.find((i) => sameName(i.name, listener.interface));
      if (!iface) throw new ApplyError(`Listener "${listener.name}": interface "${listener.interface}" does not exist`);
      wanted.set(listenerKey(iface.ip, listener.port), { listener, iface, tls: tls.get(listener.name), ciphers: config.tls.inboundCiphers });
    }

    const started: [string, SmtpListener][] = [];
    const failures: string[] = [];
    for (const [key, current] of wanted) {
      if (this.running.has(key)) continue;
      const server = new SmtpListener(current, this.deps);
      try {
        await server.listen();
        started.push([key, server]);
      } catch (err) {
        await server.close();
        const why = explainBindError(err as NodeJS.ErrnoException, current.iface.ip, current.listener.port);
        failures.push(`Listener "${current.listener.name}" cannot start: ${why}`);
        if (!options.bestEffort) {
          await Promise.all(started.map(([, s]) => s.close()));
          throw new ApplyError(failures[0]!);
        }
      }
    }

    for (const [key, server] of this.running) {
      const current = wanted.get(key);
      if (current) {
        server.update(current);
      } else {
        this.running.delete(key);
        void server.close();
        this.deps.log.info(`Listener ${server.name} stopped`);
      }
    }
    for (const [key, server] of started) {
      this.running.set(key, server);
      const { iface, listener } = server.current;
      this.deps.log.info(`Listener ${listener.name} listening on ${iface.ip} port ${listener.port}`);
    }
    if (this.workers) {
      this.workers.pushSettings(config);
      this.workers.setListeners(new Map([...this.running].map(([key, server]) => [key, server.current])));
      this.workers.resize(workerCount(config));
    }
    return failures;
  }

  status(): ListenerStatus[] {
    return [...this.running.entries()].map(([key, s]) => ({
      name: s.current.listener.name,
      certificate: s.current.tls?.profile,
      type: s.current.listener.type,
      interface: s.current.iface.name,
      ip: s.current.iface.ip,
      port: s.current.listener.port,
      connections: s.connectionCount + (this.workers?.connections(key) ?? 0),
    }));
  }

  setTicketKeys(key: Buffer): void {
    for (const l of this.running.values()) l.setTicketKeys(key);
    this.workers?.setTicketKey(key);
  }

  async closeAll(): Promise<void> {
    const all = [...this.running.values()];
    this.running.clear();
    await Promise.all([...all.map((s) => s.close()), this.workers?.stop()]);
  }
}
