import { type ChildProcess, spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DataPaths } from '../../store/paths.js';
import { etcdDataDir, tlsDir, type Membership } from '../../store/cluster/membership.js';
import { UserError } from '../../userError.js';

/**
 * The etcd member this appliance runs for its cluster (Debian's etcd-server, v3 API): peer and
 * client traffic in TLS with the cluster CA's certificates; peers must present a member
 * certificate, clients (the engines) log in as etcd's root account. Its output goes to
 * logs/etcd.log; run/etcd.pid lets a restarted engine stop one its predecessor left behind.
 */
export const peerUrl = (m: Pick<Membership, 'ip' | 'peerPort'>) => `https://${bracket(m.ip)}:${m.peerPort}`;
export const clientUrl = (m: Pick<Membership, 'ip' | 'clientPort'>) => `https://${bracket(m.ip)}:${m.clientPort}`;
const bracket = (ip: string) => (ip.includes(':') ? `[${ip}]` : ip);

export interface StartOptions {
  /** The members at start (name=peerURL), this one included; only read when the data directory is new. */
  initialCluster: string[];
  state: 'new' | 'existing';
}

export class EtcdProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  /** Why etcd stopped when nobody asked it to, for status. */
  problem: string | undefined;
  private lastOptions: StartOptions | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private restarts = 0;
  private stopped = false;

  constructor(
    private readonly paths: DataPaths,
    private readonly membership: Membership,
  ) {}

  private get pidFile() {
    return path.join(this.paths.run, 'etcd.pid');
  }

  async start(options: StartOptions): Promise<void> {
    this.lastOptions = options;
    this.stopped = false;
    await this.stopLeftover();
    const tls = tlsDir(this.paths);
    const m = this.membership;
    const args = [
      `--name=${m.machine}`,
      `--data-dir=${etcdDataDir(this.paths)}`,
      `--listen-peer-urls=${peerUrl(m)}`,
      `--initial-advertise-peer-urls=${peerUrl(m)}`,
      `--listen-client-urls=${clientUrl(m)}`,
      `--advertise-client-urls=${clientUrl(m)}`,
      `--initial-cluster=${options.initialCluster.join(',')}`,
      `--initial-cluster-state=${options.state}`,
      `--initial-cluster-token=mxgate-${m.cluster}`,
      `--cert-file=${path.join(tls, 'member.pem')}`,
      `--key-file=${path.join(tls, 'member-key.pem')}`,
      `--peer-cert-file=${path.join(tls, 'member.pem')}`,
      `--peer-key-file=${path.join(tls, 'member-key.pem')}`,
      `--peer-trusted-ca-file=${path.join(tls, 'ca.pem')}`,
      '--peer-client-cert-auth',
      '--logger=zap',
      '--log-level=warn',
      // Quick to notice a lost member on a LAN, as etcd's tuning guide suggests for low latency.
      '--heartbeat-interval=100',
      '--election-timeout=1000',
    ];
    const log = openSync(path.join(this.paths.logs, 'etcd.log'), 'a', 0o600);
    let child: ChildProcess;
    try {
      child = spawn('etcd', args, { stdio: ['ignore', log, log] });
    } finally {
      closeSync(log);
    }
    this.child = child;
    this.problem = undefined;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        if (this.child === child) {
          this.child = undefined;
          this.problem = `etcd exited (${signal ?? `status ${code}`}); see logs/etcd.log`;
          this.restartLater();
        }
        resolve();
      });
      child.once('error', (err) => {
        this.problem = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'etcd is not installed (Debian package etcd-server)' : `etcd cannot start: ${err.message}`;
        this.child = undefined;
        resolve();
      });
    });
    await new Promise((r) => setImmediate(r));
    if (this.problem) throw new UserError(this.problem);
    await writeFile(this.pidFile, `${child.pid}\n`, { mode: 0o600 });
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** etcd died on its own (killed, crashed): start it again, waiting longer each time (1 s up to 30 s). */
  private restartLater(): void {
    if (this.stopped || !this.lastOptions) return;
    const wait = Math.min(30_000, 1_000 * 2 ** Math.min(this.restarts, 5));
    this.restarts += 1;
    this.restartTimer = setTimeout(() => {
      if (this.stopped) return;
      this.start(this.lastOptions!).then(
        () => setTimeout(() => (this.restarts = this.child ? 0 : this.restarts), 60_000).unref(),
        (err: Error) => {
          this.problem = err.message;
          this.restartLater();
        },
      );
    }, wait).unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    this.child = undefined;
    if (child) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await this.exited;
      clearTimeout(killer);
    }
    await rm(this.pidFile, { force: true });
  }

  /** An etcd left running by an engine that was killed holds the ports: stop it. */
  private async stopLeftover(): Promise<void> {
    let pid: number;
    try {
      pid = Number((await readFile(this.pidFile, 'utf8')).trim());
    } catch {
      return;
    }
    try {
      const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.startsWith('etcd') || !cmd.includes(etcdDataDir(this.paths))) return;
      process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 50; i++) {
        await new Promise((r) => setTimeout(r, 100));
        process.kill(pid, 0);
      }
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}
