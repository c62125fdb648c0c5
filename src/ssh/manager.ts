import net from 'node:net';
import ssh2, { type Connection, type Server, type ServerChannel, type Session as SshSession } from 'ssh2';
import type { Config } from '../store/schema.js';
import type { DataPaths } from '../store/paths.js';
import { accountStamp, type Role } from '../store/accounts/users.js';
import type { Caller, Principal } from '../control/protocol.js';
import { ConnectionGate } from '../access/connectionGate.js';
import type { FrontEnd, SessionOrigin } from '../engine/frontEnds.js';
import type { AuditLog } from '../access/audit.js';
import type { LoginGuard } from '../access/loginGuard.js';
import type { SshStatus } from '../control/protocol.js';
import { ApplyError, applyBindings, explainBindError } from '../engine/bindings.js';
import { SshAuthentication } from './auth.js';
import { type Pty, type RunShell, startChannelShell } from './channelShell.js';
import { type HostKey, loadHostKeys } from './hostKeys.js';
import { VERSION } from '../version.js';

/**
 * Modern algorithms only: curve25519 (or NIST ECDH, or a 3072+ bit group) key exchange, Ed25519
 * or RSA with SHA-2 host keys, AEAD ciphers. ssh2 adds the strict key exchange marker (Terrapin).
 * ssh2 has no ML-KEM or sntrup hybrid yet; curve25519-sha256 is what it offers first.
 */
const ALGORITHMS = {
  kex: ['curve25519-sha256', 'curve25519-sha256@libssh.org', 'ecdh-sha2-nistp256', 'ecdh-sha2-nistp384', 'ecdh-sha2-nistp521', 'diffie-hellman-group16-sha512', 'diffie-hellman-group18-sha512'],
  serverHostKey: ['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256'],
  cipher: ['chacha20-poly1305@openssh.com', 'aes256-gcm@openssh.com', 'aes128-gcm@openssh.com'],
  hmac: ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com'],
  compress: ['none'],
} as const;

/**
 * Before login, on all interfaces together: a connection must log in within LOGIN_GRACE_MS of
 * TCP accept (OpenSSH's LoginGraceTime; MXGATE_SSH_LOGIN_GRACE_SECONDS in tests), at most
 * PER_ADDRESS wait from one address, and when WAITING are waiting the oldest makes room.
 */
const LOGIN_GRACE_MS = 30_000;
const PER_ADDRESS = 8;
const WAITING = 64;
/** Lines of history kept per account (readline's own limit at a terminal). */
const HISTORY_LINES = 500;
/** Logged-in connections at once (sessions are limited further by sshconfig's maximum). */
const MAX_LOGGED_IN = 64;

export interface SshDeps {
  paths: DataPaths;
  config: () => Config;
  /** The engine's operations as an account: what a session's shell commits and reads through. */
  callerFor: (principal: Principal) => Caller;
  guard: LoginGuard;
  audit: AuditLog;
  /** The appliance shell, run on each session's channel (handed in by the composition root). */
  runShell: RunShell;
}

interface Binding {
  iface: string;
  ip: string;
  port: number;
}

interface Running {
  binding: Binding;
  /** Accepts TCP connections and passes those the gate admits to the SSH server. */
  listener: net.Server;
  server: Server;
}

/** A logged-in connection. */
interface Live {
  /** Names this connection to the engine (a commit of its own password keeps it open). */
  id: string;
  account: string;
  role: Role;
  /** The account as it was at login (accountStamp): a change of its role, password or keys ends the connection. */
  stamp: string;
  address: string;
  iface: string;
  /** The address and port it connected to (the binding at the time). */
  via: { ip: string; port: number };
  /** The fingerprint of the SSH key it logged in with; none for a password. */
  key?: string;
  since: Date;
  client: Connection;
  shells: number;
  /** Closes a logged-in connection that runs no shell for the idle time. */
  noShell?: NodeJS.Timeout;
}

/** The idle time of SSH sessions: MXGATE_SSH_IDLE_SECONDS (tests), else the configured minutes. */
const idleSecondsOf = (config: Config): number => Number(process.env.MXGATE_SSH_IDLE_SECONDS) || config.ssh.idleTimeoutMinutes * 60;
const idleTextOf = (seconds: number): string => (seconds % 60 ? `${seconds} s` : `${seconds / 60} minute(s)`);

/**
 * The SSH service on every interface that has it on, kept in line with the committed
 * configuration like the listeners: a new port is bound before the old one closes, a port that
 * cannot be bound fails the whole commit. Sessions already open stay open when their port moves
 * (the administrator who committed the move keeps the session that did it).
 */
export class SshManager implements FrontEnd {
  private hostKeys: Promise<HostKey[]> | undefined;
  private readonly running = new Map<string, Running>();
  private readonly live = new Set<Live>();
  /**
   * Each account's command history, carried from one interactive session to the next while the
   * engine runs (kept in memory only: lines typed are not written to disk).
   */
  private readonly histories = new Map<string, string[]>();
  private readonly gate: ConnectionGate;
  /** Admitted connections not yet logged in, by remote address and port. */
  private readonly admitted = new Map<string, { pass: () => void }>();
  private nextId = 1;

  constructor(private readonly deps: SshDeps) {
    const graceMs = () => (Number(process.env.MXGATE_SSH_LOGIN_GRACE_SECONDS) || LOGIN_GRACE_MS / 1000) * 1000;
    this.gate = new ConnectionGate(
      () => ({ perAddress: PER_ADDRESS, total: WAITING, deadlineMs: graceMs() }),
      { waiting: 'waiting to log in', late: 'no login' },
      (address, why) => deps.audit.write('Warning', `SSH connection from ${address} refused: ${why}`),
    );
  }

  /**
   * Read the host keys, or make them on the first start. Making an RSA-3072 key takes about half a
   * second: it runs beside the rest of the start-up, and only the SSH service waits for it.
   */
  open(): void {
    this.hostKeys = loadHostKeys(this.deps.paths);
    this.hostKeys.catch(() => undefined);
  }

  private async keys(): Promise<HostKey[]> {
    try {
      return await (this.hostKeys ??= loadHostKeys(this.deps.paths));
    } catch (err) {
      throw new ApplyError(`SSH: ${(err as Error).message}`);
    }
  }

  async fingerprints(): Promise<{ type: string; bits: number; fingerprint: string }[]> {
    return (await this.keys()).map(({ type, bits, fingerprint }) => ({ type, bits, fingerprint }));
  }

  async apply(config: Config, options: { bestEffort?: boolean } = {}): Promise<string[]> {
    const wanted = new Map<string, Binding>();
    for (const i of config.interfaces) if (i.ssh) wanted.set(i.name, { iface: i.name, ip: i.ip, port: i.ssh.port });
    const hostKeys = wanted.size ? await this.keys() : [];
    return applyBindings(
      this.running,
      wanted,
      {
        sameAddress: (r, binding) => r.binding.ip === binding.ip && r.binding.port === binding.port,
        start: (binding) => this.start(binding, hostKeys),
        // Stop listening only: the open sessions go on, one of which may be this commit's.
        stop: (r) => void r.listener.close(),
        update: () => undefined,
        failure: (name, binding, err) => `SSH on interface ${name}: ${explainBindError(err as NodeJS.ErrnoException, binding.ip, binding.port)}`,
      },
      options,
    );
  }

  /**
   * After a commit: connections of accounts deleted, or whose role, password or keys changed, end
   * (log in again); the connection that committed a change of its own password goes on. A deleted
   * account's history goes with it.
   */
  committed(config: Config, committer?: Principal, version?: { version: number; comment: string }): void {
    const users = config.users;
    const by = committer?.kind === 'account' ? [...this.live].find((l) => l.id === committer.session) : undefined;
    if (by && version) this.deps.audit.write('Info', `SSH commit: version ${version.version} by ${by.account} from ${by.address}${version.comment ? `: ${version.comment}` : ''}`);
    for (const name of this.histories.keys()) if (!users.some((u) => u.name === name)) this.histories.delete(name);
    for (const l of this.live) {
      const u = users.find((x) => x.name === l.account);
      if (u && accountStamp(u) === l.stamp) continue;
      if (u && u.role === l.role && committer?.kind === 'account' && committer.session === l.id) {
        l.stamp = accountStamp(u);
        continue;
      }
      this.deps.audit.write('Info', `SSH session of ${l.account} from ${l.address} closed: the account was changed or deleted`);
      l.client.end();
    }
  }

  /** Where a logged-in connection came in (the lock-out guard of commits). */
  origin(session: string): SessionOrigin | undefined {
    const l = [...this.live].find((x) => x.id === session);
    return l && { service: 'SSH', ip: l.via.ip, port: l.via.port, account: l.account, ...(l.key ? { key: l.key } : {}) };
  }

  status(): { ssh: SshStatus[] } {
    return { ssh: this.statusList() };
  }

  private statusList(): SshStatus[] {
    return [...this.running.values()].map(({ binding: b }) => ({
      interface: b.iface,
      ip: b.ip,
      port: b.port,
      sessions: [...this.live].filter((l) => l.iface === b.iface).map((l) => ({ account: l.account, address: l.address, since: l.since.toISOString() })),
    }));
  }

  async closeAll(): Promise<void> {
    for (const l of this.live) l.client.end();
    const all = [...this.running.values()];
    this.running.clear();
    await Promise.all(all.map((r) => new Promise<void>((resolve) => r.listener.close(() => resolve()))));
  }

  private start(binding: Binding, hostKeys: HostKey[]): Promise<Running> {
    const server = new ssh2.Server(
      { hostKeys: hostKeys.map((k) => k.privateKey), algorithms: ALGORITHMS as unknown as Record<string, string[]>, ident: `mxgate_${VERSION}` },
      (client, info) => this.connection(client, info, binding),
    );
    // A failed connection is the client's problem; it must not take the engine down.
    server.on('error', () => undefined);
    // The gate sees each connection at TCP accept, before the client has said anything.
    const listener = net.createServer((socket) => {
      socket.on('error', () => undefined);
      // Only accounts can fill this (strangers are bounded by the gate): more logged-in connections wait.
      if (this.live.size >= MAX_LOGGED_IN) {
        this.deps.audit.write('Warning', `SSH connection from ${socket.remoteAddress} refused: ${MAX_LOGGED_IN} connections are logged in`);
        socket.destroy();
        return;
      }
      const admitted = this.gate.admit(socket);
      if (!admitted) return;
      const key = `${socket.remoteAddress}|${socket.remotePort}`;
      this.admitted.set(key, admitted);
      socket.once('close', () => this.admitted.delete(key));
      server.injectSocket(socket);
    });
    return new Promise((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(binding.port, binding.ip, () => {
        listener.off('error', reject);
        listener.on('error', () => undefined);
        resolve({ binding, listener, server });
      });
    });
  }

  private connection(client: Connection, info: { ip: string; port: number }, binding: Binding): void {
    const iface = binding.iface;
    const { audit } = this.deps;
    const address = info.ip;
    const auth = new SshAuthentication(address, this.deps);
    let live: Live | undefined;
    const admitted = this.admitted.get(`${info.ip}|${info.port}`);
    client.on('error', () => undefined);
    // ssh2 always offers "ssh-rsa" (SHA-1 signatures) for an RSA host key, whatever the list says;
    // a client that picks it gets no further than the key exchange.
    client.on('handshake', (negotiated: { serverHostKey?: string }) => {
      if (negotiated.serverHostKey !== 'ssh-rsa') return;
      audit.write('Warning', `SSH connection from ${address} closed: the client accepts only ssh-rsa (SHA-1) host key signatures`);
      client.end();
    });
    client.on('authentication', (ctx) => {
      auth.handle(ctx).then(
        ({ tooMany }) => {
          if (tooMany) {
            audit.write('Warning', `SSH connection from ${address} closed after too many failed attempts`);
            client.end();
          }
        },
        (err: Error) => {
          audit.write('Warning', `SSH login from ${address} failed: ${err.message}`);
          client.end();
        },
      );
    });
    client.on('ready', () => {
      admitted?.pass();
      const { user, key } = auth.loggedIn!;
      live = { id: `ssh-${this.nextId++}`, account: user.name, role: user.role, stamp: accountStamp(user), address, iface, via: { ip: binding.ip, port: binding.port }, ...(key ? { key } : {}), since: new Date(), client, shells: 0 };
      this.live.add(live);
      this.idleWithoutShell(live);
      client.on('session', (accept) => this.session(accept(), live!));
    });
    // No forwarding of any kind: ssh -L/-W (direct-tcpip), ssh -R (tcpip-forward), Unix sockets.
    client.on('tcpip', (_accept, reject, info) => {
      audit.write('Warning', `SSH forwarding refused: ${live?.account ?? '?'} from ${address} asked for ${info.destIP}:${info.destPort}`);
      reject();
    });
    client.on('request', (_accept, reject, name) => {
      audit.write('Warning', `SSH request refused: ${live?.account ?? '?'} from ${address} asked for ${name}`);
      reject?.();
    });
    client.on('openssh.streamlocal', (_accept, reject) => reject());
    client.on('close', () => {
      auth.ended();
      if (!live) return;
      clearTimeout(live.noShell);
      this.live.delete(live);
      audit.write('Info', `SSH logout: ${live.account} from ${address} after ${Math.round((Date.now() - live.since.getTime()) / 1000)} s`);
    });
  }

  /** A logged-in connection with no shell running is closed after the idle time, like an idle shell. */
  private idleWithoutShell(live: Live): void {
    clearTimeout(live.noShell);
    if (live.shells > 0) return;
    const seconds = idleSecondsOf(this.deps.config());
    live.noShell = setTimeout(() => {
      this.deps.audit.write('Info', `SSH connection of ${live.account} from ${live.address} closed: no session for ${idleTextOf(seconds)}`);
      live.client.end();
    }, seconds * 1000);
  }

  private session(session: SshSession, live: Live): void {
    let pty: Pty | undefined;
    let resize: ((cols: number, rows: number) => void) | undefined;
    session.on('pty', (accept, _reject, info) => {
      pty = { cols: info.cols, rows: info.rows, term: info.term };
      accept?.();
    });
    session.on('window-change', (accept, _reject, info) => {
      if (pty) Object.assign(pty, { cols: info.cols, rows: info.rows });
      resize?.(info.cols, info.rows);
      accept?.();
    });
    session.on('env', (accept) => accept?.());
    for (const refused of ['x11', 'auth-agent', 'subsystem'] as const) {
      session.on(refused as 'x11', (_accept, reject) => {
        this.deps.audit.write('Warning', `SSH ${refused} refused for ${live.account} from ${live.address}: only the shell and one command are offered`);
        reject?.();
      });
    }
    session.on('shell', (accept) => (resize = this.shell(accept(), live, pty, undefined)));
    session.on('exec', (accept, _reject, info) => (resize = this.shell(accept(), live, pty, info.command)));
  }

  /** Run the appliance shell on a channel; returns how to pass on window size changes. */
  private shell(channel: ServerChannel, live: Live, pty: Pty | undefined, command: string | undefined): (cols: number, rows: number) => void {
    const { audit, config } = this.deps;
    const settings = config().ssh;
    const open = [...this.live].reduce((n, l) => n + l.shells, 0);
    if (open >= settings.maxSessions) {
      audit.write('Warning', `SSH session refused for ${live.account} from ${live.address}: ${open} sessions are open, the most allowed`);
      channel.stderr.write(`mxgate: ${open} SSH sessions are open, the most allowed; try again later.\r\n`);
      channel.exit(1);
      channel.end();
      return () => undefined;
    }
    live.shells += 1;
    clearTimeout(live.noShell);
    const kind = command !== undefined ? `command "${command.replace(/\s+/g, ' ').slice(0, 200)}"` : pty ? `shell (${pty.term} ${pty.cols}x${pty.rows})` : 'script (no terminal)';
    audit.write('Info', `SSH session: ${live.account} from ${live.address}: ${kind}`);
    const interactive = pty !== undefined && command === undefined;
    const engine = this.deps.callerFor({ kind: 'account', name: live.account, session: live.id });
    const shell = startChannelShell(this.deps.runShell, { paths: this.deps.paths, account: { name: live.account, role: live.role }, engine, channel, pty, command, history: interactive ? this.histories.get(live.account) : undefined });
    let idle: NodeJS.Timeout | undefined;
    let idledOut = false;
    const idleSeconds = idleSecondsOf(config());
    const idleText = idleTextOf(idleSeconds);
    const rearm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        audit.write('Info', `SSH session of ${live.account} from ${live.address} closed after ${idleText} without input`);
        if (channel.writable) (pty ? channel : channel.stderr).write(`\r\nmxgate: nothing was typed for ${idleText}; the session is closed.\r\n`);
        idledOut = true;
        // The shell sees the end of its input and stops; the connection closes after its exit status.
        shell.hangup();
      }, idleSeconds * 1000);
    };
    // One command reads no input: it runs to its end. A shell is idle while nothing is typed.
    if (command === undefined) {
      rearm();
      channel.on('data', rearm);
    }
    channel.on('close', () => shell.hangup());
    void shell.done.then((status) => {
      clearTimeout(idle);
      live.shells -= 1;
      this.idleWithoutShell(live);
      if (interactive) this.histories.set(live.account, shell.history().slice(0, HISTORY_LINES));
      audit.write('Info', `SSH session of ${live.account} from ${live.address} ended with exit status ${status}`);
      if (channel.writable) {
        channel.exit(status);
        channel.end();
      }
      // The client leaves once its channel is closed; one that holds the connection open is closed a little later
      // (ending it at once could cut off the message and the exit status).
      if (idledOut) setTimeout(() => live.client.end(), 2000).unref();
    });
    return shell.resize;
  }
}
