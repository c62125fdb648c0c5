import { type ChildProcess, fork } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../store/schema.js';
import type { IdAllocator } from '../ids.js';
import type { HostCounter } from '../listener/hostSlots.js';
import type { ListenerState, SmtpListener } from '../listener/smtpListener.js';
import type { MailLog } from '../log/mailLog.js';
import type { Envelope, Spool } from '../queue/spool.js';
import type { Call, FromWorker, ToWorker, WorkerSettings } from './protocol.js';
import type { WorkerStatus } from '../../control/status.js';

export interface PoolDeps {
  log: MailLog;
  ids: IdAllocator;
  hosts: HostCounter;
  spool: Spool;
  /**
   * A worker queued a message (the engine has adopted it): delivery looks at once. Messages adopted
   * after a worker's crash come without their envelope (tlsreport inbound does not count them).
   */
  queued: (envelope?: Envelope) => void;
  /** A session in a worker failed TLS (tlsreport inbound). */
  tlsFailed: (address: string, reason: 'handshake failed' | 'no STARTTLS') => void;
  reverse: (ip: string) => Promise<{ host: string; verified: boolean } | undefined>;
  /** A session in a worker got its ICID. */
  connected?: (listener: string) => void;
  /** The settings for a configuration (the one being applied, or the committed one). */
  settings: (config?: Config) => WorkerSettings;
  ticketKey: () => Buffer;
}

/**
 * The engine serves connections itself too, and it also runs delivery: a new connection goes to a
 * worker unless the engine has fewer than 1/ENGINE_SHARE as many sessions as that worker.
 */
const ENGINE_SHARE = 2;
/** How long a stopping worker's sessions may run on (engine stop, fewer workers). */
const GRACE_MS = 30_000;

const WORKER_SCRIPT = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url));

class ListenerWorker {
  /** Has its settings and listeners: connections may go to it. */
  ready = false;
  /** Told to stop (engine stop, fewer workers): its exit is expected. */
  retiring = false;
  /** Open connections by listener key. */
  readonly connections = new Map<string, number>();
  /** Per-host slots this worker holds (released for it if it dies). */
  readonly held = new Map<string, number>();
  readonly startedAt = new Date();
  readonly exited: Promise<void>;
  private readonly inFlight = new Map<number, Socket>();
  private nextSocket = 1;

  constructor(readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  get total(): number {
    let n = 0;
    for (const c of this.connections.values()) n += c;
    return n;
  }

  send(message: ToWorker): void {
    if (this.child.connected) this.child.send(message, (err: Error | null) => void err); // a dead worker's exit is handled on 'exit'
  }

  /**
   * Pass a connection. The engine keeps its copy of the socket until the worker says it has the
   * connection: a worker killed with sockets in flight cannot leave a client waiting on a socket
   * nobody serves (the copies left are closed on its exit, and the client sees the connection end).
   */
  pass(key: string, socket: Socket): void {
    const id = this.nextSocket++;
    socket.on('error', () => undefined);
    this.inFlight.set(id, socket);
    if (!this.child.connected) return this.taken(id);
    this.child.send({ t: 'connection', key, id } satisfies ToWorker, socket, { keepOpen: true }, (err: Error | null) => {
      if (err) this.taken(id);
    });
  }

  /** The worker has the connection (or it never will): the engine's copy is closed. */
  taken(id: number): void {
    this.inFlight.get(id)?.destroy();
    this.inFlight.delete(id);
  }

  dropInFlight(): void {
    for (const id of [...this.inFlight.keys()]) this.taken(id);
  }
}

/**
 * Listener workers (DESIGN.md: "listeners may run in several worker processes"). The engine keeps
 * the listening sockets; each accepted connection is passed to the least busy worker with its
 * socket, or served by the engine itself. Every commit's listeners, certificates and settings are
 * pushed to all workers; a worker that dies is replaced, its connections are lost (the clients
 * retry; nothing acknowledged is lost: a 250 follows the fsync) and what it queued is adopted.
 */
export class WorkerPool {
  private readonly workers = new Set<ListenerWorker>();
  private wanted = 0;
  private listeners: [string, ListenerState][] = [];
  private lastSettings: WorkerSettings | undefined;
  private stopped = false;
  /** Quick deaths in a row (a worker that cannot start is not restarted in a tight loop). */
  private failures = 0;
  /** Workers that ended without being asked to, since the engine started (metrics). */
  private exits = 0;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: PoolDeps) {}

  /** Run `count` workers (0: the engine serves every connection). */
  resize(count: number): void {
    this.wanted = count;
    const active = () => [...this.workers].filter((w) => !w.retiring);
    while (active().length < this.wanted) this.spawn();
    for (const w of active().slice(this.wanted)) this.retire(w);
  }

  /** The listeners every worker serves (keyed as the engine's, by address and port). */
  setListeners(listeners: Map<string, ListenerState>): void {
    this.listeners = [...listeners];
    this.broadcast({ t: 'listeners', listeners: this.listeners });
  }

  /** Settings of `config` (a commit being applied), else of the committed configuration. */
  pushSettings(config?: Config): void {
    this.lastSettings = this.deps.settings(config);
    this.broadcast({ t: 'settings', settings: this.lastSettings });
  }

  setTicketKey(key: Buffer): void {
    this.broadcast({ t: 'ticketKey', key: key.toString('base64') });
  }

  /** Open sessions in workers on one listener. */
  connections(key: string): number {
    let n = 0;
    for (const w of this.workers) n += w.connections.get(key) ?? 0;
    return n;
  }

  /** How many workers should run, how many do, and how many ended on their own. */
  health(): { wanted: number; running: number; exits: number } {
    return { wanted: this.wanted, running: [...this.workers].filter((w) => w.ready && !w.retiring).length, exits: this.exits };
  }

  status(): WorkerStatus[] {
    return [...this.workers].map((w) => ({ pid: w.pid, connections: w.total, startedAt: w.startedAt.toISOString() }));
  }

  /**
   * Give a new connection on listener `key` to a worker; false: serve it here. Over the
   * listener's limit of concurrent connections (counted over all processes) it is refused here.
   */
  handOff(key: string, listener: SmtpListener, socket: Socket): boolean {
    const max = listener.current.listener.limits.maxConcurrency;
    const here = listener.sessionCount;
    if (here + this.connections(key) >= max) {
      socket.on('error', () => undefined);
      socket.end(`421 ${listener.greetingName} Too many connected clients, try again in a moment\r\n`);
      return true;
    }
    let best: ListenerWorker | undefined;
    for (const w of this.workers) if (w.ready && (!best || w.total < best.total)) best = w;
    if (!best || here * ENGINE_SHARE < best.total) return false;
    best.connections.set(key, (best.connections.get(key) ?? 0) + 1);
    best.pass(key, socket);
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    const all = [...this.workers];
    for (const w of all) this.retire(w);
    await Promise.all(all.map((w) => w.exited));
  }

  private broadcast(message: ToWorker): void {
    for (const w of this.workers) if (w.ready) w.send(message);
  }

  private retire(w: ListenerWorker): void {
    w.ready = false; // no new connections
    w.retiring = true;
    w.send({ t: 'stop', graceMs: GRACE_MS });
    const kill = setTimeout(() => w.child.kill('SIGKILL'), GRACE_MS + 5000).unref();
    void w.exited.then(() => clearTimeout(kill));
  }

  private spawn(): void {
    const child = fork(WORKER_SCRIPT, [], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
    const w = new ListenerWorker(child);
    this.workers.add(w);
    child.on('message', (message: FromWorker) => this.onMessage(w, message));
    child.on('error', (err) => this.deps.log.warning(`Listener worker ${w.pid}: ${err.message}`));
    // The channel closes the moment a worker dies: no connection goes to it after that.
    child.once('disconnect', () => {
      w.ready = false;
      w.dropInFlight();
    });
    child.once('exit', (code, signal) => void this.onExit(w, code, signal));
  }

  private onMessage(w: ListenerWorker, m: FromWorker): void {
    switch (m.t) {
      case 'batch':
        for (const each of m.messages) this.onMessage(w, each);
        break;
      case 'ready':
        w.send({ t: 'settings', settings: this.lastSettings ?? this.deps.settings() });
        w.send({ t: 'ticketKey', key: this.deps.ticketKey().toString('base64') });
        w.send({ t: 'listeners', listeners: this.listeners });
        w.ready = !w.retiring;
        this.deps.log.info(`Listener worker ${w.pid} started`);
        break;
      case 'log':
        this.deps.log.write(m.level, m.line);
        break;
      case 'flushLog':
        this.deps.log.flush();
        break;
      case 'call':
        this.answer(w, m.call).then(
          (value) => w.send({ t: 'reply', id: m.id, value }),
          (err: Error) => w.send({ t: 'reply', id: m.id, error: err.message }),
        );
        break;
      case 'release':
        this.deps.hosts.release(m.key);
        this.count(w.held, m.key, -1);
        break;
      case 'closed':
        this.count(w.connections, m.key, -1);
        break;
      case 'taken':
        w.taken(m.id);
        break;
      case 'queued':
        this.deps.spool.adopt(m.envelope);
        this.deps.queued(m.envelope);
        break;
      case 'tlsFailed':
        this.deps.tlsFailed(m.address, m.reason);
        break;
      case 'connected':
        this.deps.connected?.(m.listener);
        break;
    }
  }

  private async answer(w: ListenerWorker, c: Call): Promise<unknown> {
    switch (c.op) {
      case 'lease': {
        // Consecutive: nothing else takes a number during this loop.
        const first = this.deps.ids.take(c.kind);
        for (let i = 1; i < c.count; i += 1) this.deps.ids.take(c.kind);
        return first;
      }
      case 'acquire': {
        const slot = this.deps.hosts.acquire(c.key, c.max, c.listenerMax);
        if (slot !== 'refused') this.count(w.held, c.key, 1);
        return slot;
      }
      case 'reverse':
        return this.deps.reverse(c.ip);
    }
  }

  private count(map: Map<string, number>, key: string, delta: number): void {
    const n = (map.get(key) ?? 0) + delta;
    if (n > 0) map.set(key, n);
    else map.delete(key);
  }

  /** A worker ended: give back what it held, adopt what it queued, and replace it if it should still run. */
  private async onExit(w: ListenerWorker, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    this.workers.delete(w);
    w.dropInFlight();
    for (const [key, n] of w.held) for (let i = 0; i < n; i += 1) this.deps.hosts.release(key);
    const lost = w.total;
    const adopted = await this.deps.spool.recoverFrom(w.pid).catch(() => []);
    for (const mid of adopted) this.deps.log.info(`MID ${mid} queued for delivery (received by listener worker ${w.pid})`);
    if (adopted.length) this.deps.queued();
    if (w.retiring) return;
    this.exits += 1;
    this.deps.log.warning(`Listener worker ${w.pid} exited (${signal ?? `exit status ${code}`}); ${lost} connection(s) it served were closed`);
    this.failures = Date.now() - w.startedAt.getTime() < 10_000 ? this.failures + 1 : 0;
    const delay = Math.min(60_000, this.failures === 0 ? 0 : 1000 * 2 ** (this.failures - 1));
    this.restartTimer = setTimeout(() => {
      if (!this.stopped) this.resize(this.wanted);
    }, delay);
  }
}
