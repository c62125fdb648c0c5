/**
 * A listener worker: a child process of the engine that serves SMTP sessions on the engine's
 * listeners (TLS handshakes, SMTP, writing messages to the queue), so sessions use every core.
 * The engine accepts each connection and passes the socket here; what must stay one for the whole
 * appliance (MID and ICID numbers, per-host connection counts, the mail log, the queue index and
 * delivery) stays in the engine and is asked for or reported over the IPC channel.
 */
import type { Socket } from 'node:net';
import type { LogLevel } from '../log/mailLog.js';
import { type ListenerDeps, SmtpListener } from '../listener/smtpListener.js';
import { Spool } from '../queue/spool.js';
import { StorageGuard } from '../queue/storage.js';
import type { IdKind } from '../ids.js';
import type { Call, FromWorker, ToWorker, WorkerSettings } from './protocol.js';
import type { Slot } from '../listener/hostSlots.js';

if (!process.send) throw new Error('a listener worker is started by the engine (child_process.fork)');
process.umask(0o077);

/** Messages of one event-loop turn go out together, in order. */
let outbox: FromWorker[] = [];
const send = (message: FromWorker): void => {
  if (outbox.push(message) === 1) setImmediate(flush);
};
function flush(then?: () => void): void {
  const messages = outbox;
  outbox = [];
  if (process.connected && messages.length) process.send!(messages.length === 1 ? messages[0] : { t: 'batch', messages }, () => then?.());
  else then?.();
}
/** A planned exit: what is still to be said (the last log lines) reaches the engine first. */
const exit = (): void => flush(() => process.exit(0));

let nextCall = 1;
const calls = new Map<number, { resolve(value: unknown): void; reject(err: Error): void }>();
function call<T>(what: Call): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const id = nextCall++;
    calls.set(id, { resolve: resolve as (value: unknown) => void, reject });
    send({ t: 'call', id, call: what });
  });
}

/**
 * MIDs and ICIDs come from the engine's one allocator in leases of LEASE numbers, renewed while
 * half a lease is left, so a session does not wait for the engine to number it. Numbers stay
 * unique and are never reused (the engine reserves them on disk); a worker that dies leaves a gap.
 */
const LEASE = 64;
class LeasedIds {
  private readonly ranges: { next: number; end: number }[] = [];
  private renewing: Promise<void> | undefined;

  constructor(private readonly kind: IdKind) {}

  take(): number | Promise<number> {
    while (this.ranges[0] && this.ranges[0].next >= this.ranges[0].end) this.ranges.shift();
    const left = this.ranges.reduce((n, r) => n + r.end - r.next, 0);
    if (left < LEASE / 2) this.renew().catch(() => undefined);
    const range = this.ranges[0];
    // None left (the first take, or the engine could not reserve more): wait for the lease, or fail as the engine would.
    return range ? range.next++ : this.renew().then(() => this.take());
  }

  private renew(): Promise<void> {
    this.renewing ??= call<number>({ op: 'lease', kind: this.kind, count: LEASE })
      .then((first) => void this.ranges.push({ next: first, end: first + LEASE }))
      .finally(() => (this.renewing = undefined));
    return this.renewing;
  }
}
const ids = { mid: new LeasedIds('mid'), icid: new LeasedIds('icid') };

let settings: WorkerSettings | undefined;
const ticketKeys = { current: Buffer.alloc(48) };
const logLine = (level: LogLevel) => (line: string) => send({ t: 'log', level, line });
let spool: Spool | undefined;
let storage: StorageGuard | undefined;

const deps: ListenerDeps = {
  log: {
    info: logLine('Info'),
    warning: logLine('Warning'),
    critical: logLine('Critical'),
    get healthy() {
      return settings?.logHealthy ?? true;
    },
    flush: () => send({ t: 'flushLog' }),
  },
  spool: { receive: (mid) => spool!.receive(mid) },
  ids: { take: (kind) => (kind === 'dcid' ? Promise.reject(new Error('workers do not deliver')) : ids[kind].take()) },
  hosts: {
    acquire: (key, max, listenerMax) => call<Slot>({ op: 'acquire', key, max, listenerMax }),
    release: (key) => send({ t: 'release', key }),
  },
  hostname: () => settings?.hostname ?? 'localhost',
  queued: (envelope) => send({ t: 'queued', envelope }),
  tlsFailed: (address, reason) => send({ t: 'tlsFailed', address, reason }),
  connected: (listener) => send({ t: 'connected', listener }),
  reverse: (ip) => call<{ host: string; verified: boolean } | undefined>({ op: 'reverse', ip }),
  storage: {
    accepting: (size) => storage?.accepting(size) ?? true,
    exhausted: () => storage?.exhausted() ?? false,
  },
  ticketKeys,
  // Counted at the session's end (smtp-server's close), not the socket's: STARTTLS moves the
  // connection onto a TLS socket and drops every listener of the first one.
  sessionEnded: (listener) => {
    open -= 1;
    send({ t: 'closed', key: listener.key });
    // After the session's own last lines (its close is logged after this call).
    if (stopping && open === 0) setImmediate(exit);
  },
};

const listeners = new Map<string, SmtpListener>();
let open = 0;
let stopping = false;

function setListeners(wanted: [string, SmtpListener['current']][]): void {
  const keep = new Set<string>();
  for (const [key, state] of wanted) {
    keep.add(key);
    const running = listeners.get(key);
    if (running) running.update(state);
    else listeners.set(key, new SmtpListener(state, deps));
  }
  // A listener that is gone takes no new connections; its sessions run to their end.
  for (const key of listeners.keys()) if (!keep.has(key)) listeners.delete(key);
}

function serve(key: string, socket: Socket | undefined): void {
  const listener = listeners.get(key);
  if (!socket || !listener || stopping) {
    socket?.destroy();
    send({ t: 'closed', key });
    return;
  }
  open += 1;
  listener.serve(socket);
}

/** Sessions still open when the grace time ends get smtp-server's 421, as in the engine. */
function stop(graceMs: number): void {
  stopping = true;
  if (open === 0) exit();
  setTimeout(() => {
    for (const l of listeners.values()) {
      l.closeSessions(421, 'Server shutting down');
    }
    setTimeout(exit, 1000).unref();
  }, graceMs).unref();
}

process.on('message', (message: ToWorker, handle?: Socket) => {
  switch (message.t) {
    case 'settings':
      settings = message.settings;
      spool ??= new Spool(settings.queueDir, { indexed: false });
      storage ??= new StorageGuard(settings.queueDir, () => settings!.reserveMb);
      break;
    case 'listeners':
      setListeners(message.listeners);
      break;
    case 'ticketKey':
      ticketKeys.current = Buffer.from(message.key, 'base64');
      for (const l of listeners.values()) l.setTicketKeys(ticketKeys.current);
      break;
    case 'connection':
      send({ t: 'taken', id: message.id });
      serve(message.key, handle);
      break;
    case 'reply': {
      const pending = calls.get(message.id);
      calls.delete(message.id);
      if (message.error !== undefined) pending?.reject(new Error(message.error));
      else pending?.resolve(message.value);
      break;
    }
    case 'stop':
      stop(message.graceMs);
      break;
  }
});
// The engine is gone (even kill -9): nothing here may go on alone.
process.on('disconnect', () => process.exit(0));
send({ t: 'ready' });
