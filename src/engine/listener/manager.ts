import { availableParallelism } from 'node:os';
import type { Config } from '../../store/schema.js';
import { sameName } from '../../store/schema.js';
import { ApplyError, applyBindings, explainBindError } from '../bindings.js';
import type { WorkerPool } from '../workers/pool.js';
import { type ListenerDeps, type ListenerState, listenerKey, SmtpListener, type TlsMaterial } from './smtpListener.js';
import type { ListenerStatus } from '../../control/status.js';


/**
 * Listener workers for a configuration. "auto" leaves two cores to the engine and the rest of the
 * machine (kernel, disk, delivery) and gives each further core a worker: on two cores a worker was
 * measured 8-25 % slower than the engine alone on every bench row (bench/vs-postfix.ts), because
 * the cores are already busy and the worker adds IPC and a second heap.
 */
export function workerCount(config: Config): number {
  return config.listenerWorkers === 'auto' ? Math.max(0, availableParallelism() - 2) : config.listenerWorkers;
}

/**
 * Makes the running listeners match a configuration (applyBindings). Servers are keyed by address
 * and port: a listener whose address stays is updated in place; new addresses are bound first, and
 * if any bind fails everything new is closed again, so a failed apply leaves the old listeners running.
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
      wanted.set(listenerKey(iface.ip, listener.port), { listener, iface, tls: tls.get(listener.name), ciphers: config.tls.inboundCiphers, taggingKeys: config.bounceVerification.keys, invalidBounce: config.bounceVerification.invalidAction });
    }

    const failures = await applyBindings(
      this.running,
      wanted,
      {
        // The key is the address and port: a listener that keeps its key is updated in place.
        sameAddress: () => true,
        start: async (current) => {
          const server = new SmtpListener(current, this.deps);
          try {
            await server.listen();
          } catch (err) {
            await server.close();
            throw err;
          }
          return server;
        },
        stop: (server) => void server.close(),
        update: (server, current) => server.update(current),
        failure: (_key, current, err) => `Listener "${current.listener.name}" cannot start: ${explainBindError(err as NodeJS.ErrnoException, current.iface.ip, current.listener.port)}`,
        stopped: (_key, server) => this.deps.log.info(`Listener ${server.name} stopped`),
        started: (_key, server) => this.deps.log.info(`Listener ${server.name} listening on ${server.current.iface.ip} port ${server.current.listener.port}`),
      },
      options,
    );
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
