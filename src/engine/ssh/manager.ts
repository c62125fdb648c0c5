import ssh2, { type Connection, type Server, type ServerChannel, type Session as SshSession } from 'ssh2';
import type { Config } from '../../store/schema.js';
import type { DataPaths } from '../../store/paths.js';
import type { Role } from '../../store/users.js';
import type { AuditLog } from '../access/audit.js';
import type { LoginGuard } from '../access/loginGuard.js';
import type { SshStatus } from '../control/protocol.js';
import { ApplyError, explainBindError } from '../listener/manager.js';
import { SshAuthentication } from './auth.js';
import { type Pty, startChannelShell } from './channelShell.js';
import { type HostKey, loadHostKeys } from './hostKeys.js';
import { VERSION } from '../../version.js';

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

/** A connection must log in within this time (OpenSSH's LoginGraceTime). */
const LOGIN_GRACE_MS = 60_000;
/** Lines of history kept per account (readline's own limit at a terminal). */
const HISTORY_LINES = 500;
/** Connections at once on one port, logged in or not (the rest are closed at once). */
const MAX_CONNECTIONS = 128;

export interface SshDeps {
  paths: DataPaths;
  config: () => Config;
  guard: LoginGuard;
  audit: AuditLog;
}

interface Binding {
  iface: string;
  ip: string;
  port: number;
}

interface Running {
  binding: Binding;
  server: Server;
}

/** A logged-in connection. */
interface Live {
  account: string;
  role: Role;
  address: string;
  iface: string;
  since: Date;
  client: Connection;
  shells: number;
}

/**
 * The SSH service on every interface that has it on, kept in line with the committed
 * configuration like the listeners: a new port is bound before the old one closes, a port that
 * cannot be bound fails the whole commit. Sessions already open stay open when their port moves
 * (the administrator who committed the move keeps the session that did it).
 */
export class SshManager {
  private hostKeys: Promise<HostKey[]> | undefined;
  private readonly running = new Map<string, Running>();
  private readonly live = new Set<Live>();
  /**
   * Each account's command history, carried from one interactive session to the next while the
   * engine runs (kept in memory only: lines typed are not written to disk).
   */
  private readonly histories = new Map<string, string[]>();

  constructor(private readonly deps: SshDeps) {}

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
    const started: [string, Running][] = [];
    const failures: string[] = [];
    for (const [name, binding] of wanted) {
      const current = this.running.get(name);
      if (current && current.binding.ip === binding.ip && current.binding.port === binding.port) continue;
      try {
        started.push([name, await this.start(binding, hostKeys)]);
      } catch (err) {
        const why = `SSH on interface ${name}: ${explainBindError(err as NodeJS.ErrnoException, binding.ip, binding.port)}`;
        if (!options.bestEffort) {
          for (const [, r] of started) r.server.close();
          throw new ApplyError(why);
        }
        failures.push(why);
      }
    }
    for (const [name, r] of started) {
      this.running.get(name)?.server.close();
      this.running.set(name, r);
    }
    for (const [name, r] of [...this.running]) {
      if (wanted.has(name)) continue;
      this.running.delete(name);
      // Stop listening only: close() would wait for the open sessions, one of which may be this commit's.
      r.server.close();
    }
    return failures;
  }

  /**
   * After a commit: sessions of accounts deleted or given another role end (log in again); a
   * deleted account's history goes with it.
   */
  retain(users: { name: string; role: Role }[]): void {
    for (const name of this.histories.keys()) if (!users.some((u) => u.name === name)) this.histories.delete(name);
    for (const l of this.live) {
      if (users.some((u) => u.name === l.account && u.role === l.role)) continue;
      this.deps.audit.write('Info', `SSH session of ${l.account} from ${l.address} closed: the account was changed or deleted`);
      l.client.end();
    }
  }

  status(): SshStatus[] {
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
    await Promise.all(all.map((r) => new Promise<void>((resolve) => r.server.close(() => resolve()))));
  }

  private start(binding: Binding, hostKeys: HostKey[]): Promise<Running> {
    const server = new ssh2.Server(
      { hostKeys: hostKeys.map((k) => k.privateKey), algorithms: ALGORITHMS as unknown as Record<string, string[]>, ident: `mxgate_${VERSION}` },
      (client, info) => this.connection(client, info.ip, binding.iface),
    );
    server.maxConnections = MAX_CONNECTIONS;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(binding.port, binding.ip, () => {
        server.off('error', reject);
        // A failed connection is the client's problem; it must not take the engine down.
        server.on('error', () => undefined);
        resolve({ binding, server });
      });
    });
  }

  private connection(client: Connection, address: string, iface: string): void {
    const { audit } = this.deps;
    const auth = new SshAuthentication(address, this.deps);
    let live: Live | undefined;
    const grace = setTimeout(() => {
      audit.write('Warning', `SSH connection from ${address} closed: no login within ${LOGIN_GRACE_MS / 1000} s`);
      client.end();
    }, LOGIN_GRACE_MS);
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
      clearTimeout(grace);
      const user = auth.loggedIn!.user;
      live = { account: user.name, role: user.role, address, iface, since: new Date(), client, shells: 0 };
      this.live.add(live);
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
      clearTimeout(grace);
      auth.ended();
      if (!live) return;
      this.live.delete(live);
      audit.write('Info', `SSH logout: ${live.account} from ${address} after ${Math.round((Date.now() - live.since.getTime()) / 1000)} s`);
    });
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
    const kind = command !== undefined ? `command "${command.replace(/\s+/g, ' ').slice(0, 200)}"` : pty ? `shell (${pty.term} ${pty.cols}x${pty.rows})` : 'script (no terminal)';
    audit.write('Info', `SSH session: ${live.account} from ${live.address}: ${kind}`);
    const interactive = pty !== undefined && command === undefined;
    const shell = startChannelShell({ paths: this.deps.paths, account: { name: live.account, role: live.role }, channel, pty, command, history: interactive ? this.histories.get(live.account) : undefined });
    let idle: NodeJS.Timeout | undefined;
    let idledOut = false;
    // Seconds from MXGATE_SSH_IDLE_SECONDS (tests), else the configured minutes.
    const idleSeconds = Number(process.env.MXGATE_SSH_IDLE_SECONDS) || settings.idleTimeoutMinutes * 60;
    const idleText = idleSeconds % 60 ? `${idleSeconds} s` : `${idleSeconds / 60} minute(s)`;
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
