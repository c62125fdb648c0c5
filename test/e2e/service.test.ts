import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmod, link, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { BIN, runProgram, TEST_ENV, until, waitForLog } from '../helpers.js';
import { SmtpProbe } from '../smtp-probe.js';

/**
 * mxgate as a service on a gateway host: the package installed with `npm install -g` from
 * `npm pack`, started as root, listening on port 25 and running as the service account with
 * CAP_NET_BIND_SERVICE only; the systemd unit judged by systemd-analyze; readiness told over a real
 * NOTIFY_SOCKET. The engines here run as the account, not as root like the other tests' (no
 * MXGATE_USER=root).
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const isRoot = process.getuid?.() === 0;
const ENV = { ...TEST_ENV, MXGATE_USER: '' };
let dir: string; // world-traversable, so that the service account reaches the program and the data
let installed: string; // the mxgate command of the installed package
const engines: string[] = [];

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mxg-svc-'));
  await chmod(dir, 0o755);
  if (!isRoot) return;
  // Run from the test directory, as an operator would: not under this tree's .npmrc, nor with the
  // npm_config_* settings `npm test` hands down (engine-strict is for our own lock, while a global
  // install resolves the dependencies anew and may warn).
  const operatorEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  const npm = (...args: string[]) => promisify(execFile)('npm', args, { cwd: dir, env: { ...operatorEnv, npm_config_loglevel: 'error' } });
  const pack = await npm('pack', ROOT, '--ignore-scripts', '--pack-destination', dir);
  const tarball = path.join(dir, pack.stdout.trim().split('\n').pop()!);
  const prefix = path.join(dir, 'prefix');
  await npm('install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball);
  installed = path.join(prefix, 'bin', 'mxgate');
});

after(async () => {
  for (const home of engines) await runProgram(installed, ['--home', home, 'engine', 'stop'], '', ENV);
  await rm(dir, { recursive: true, force: true });
});

const run = (home: string, ...args: string[]) => runProgram(installed ?? process.execPath, [...(installed ? [] : [BIN]), '--home', home, ...args], '', ENV);
const shell = async (home: string, ...lines: string[]) => {
  const r = await run(home, ...lines.flatMap((l) => ['-c', l]));
  assert.equal(r.code, 0, `${lines.join(' / ')}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
};

/** The real and effective uid and the ambient and effective capabilities of a process. */
async function credentials(pid: number): Promise<{ uid: number; euid: number; capEff: bigint; capAmb: bigint }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)![1]!;
  const [uid, euid] = field('Uid').split(/\s+/).map(Number);
  return { uid: uid!, euid: euid!, capEff: BigInt(`0x${field('CapEff')}`), capAmb: BigInt(`0x${field('CapAmb')}`) };
}
const CAP_NET_BIND_SERVICE = 1n << 10n;

/** Every process below `pid` (the listener workers). */
async function descendants(pid: number): Promise<number[]> {
  const all: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const st = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === pid) all.push(Number(entry), ...(await descendants(Number(entry))));
  }
  return all;
}

async function serviceUid(): Promise<number> {
  const r = await runProgram('id', ['-u', 'mxgate']);
  assert.equal(r.code, 0, 'the service account exists');
  return Number(r.stdout.trim());
}

test('the systemd unit passes systemd-analyze verify, and the same unit with a program that is not there does not', async () => {
  const unit = await runProgram(process.execPath, [BIN, '--home', '/var/lib/mxgate', 'service', 'unit'], '', ENV);
  assert.equal(unit.code, 0, unit.stderr);
  for (const line of ['Type=notify', 'User=mxgate', 'AmbientCapabilities=CAP_NET_BIND_SERVICE', 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ReadWritePaths=/var/lib/mxgate', 'PrivateTmp=yes', 'StateDirectory=mxgate', 'ExecReload=/bin/kill -HUP $MAINPID']) {
    assert.match(unit.stdout, new RegExp(`^${line.replace(/[$]/g, '\\$')}$`, 'm'), line);
  }
  assert.match(unit.stdout, /^ExecStart=\S+node --openssl-config=\S+engine-openssl\.cnf --heap-growing-percent=100 \S+mxgate\.js --home \/var\/lib\/mxgate engine run --user mxgate$/m);
  const file = path.join(dir, 'mxgate.service');
  await writeFile(file, unit.stdout);
  const verify = await runProgram('systemd-analyze', ['verify', file]);
  assert.equal(verify.code, 0, verify.stderr);
  assert.doesNotMatch(verify.stderr, /mxgate\.service/, 'systemd-analyze has nothing to say about the unit');

  const broken = path.join(dir, 'broken', 'mxgate.service');
  await mkdir(path.dirname(broken));
  await writeFile(broken, unit.stdout.replace(/^ExecStart=\S+/m, 'ExecStart=/nonexistent/node'));
  const refused = await runProgram('systemd-analyze', ['verify', broken]);
  assert.notEqual(refused.code, 0, 'the judge can fail');
  assert.match(refused.stderr, /nonexistent/);
});

test('started as root, the engine listens on port 25 and runs as mxgate with CAP_NET_BIND_SERVICE only; a later commit binds port 587', async () => {
  const home = path.join(dir, 'home');
  if (!isRoot) {
    const r = await run(home, 'engine', 'start', '--user', 'daemon');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^mxgate: only root can run the engine as another account/);
    return;
  }
  const started = await run(home, 'engine', 'start');
  assert.equal(started.code, 0, started.stdout + started.stderr);
  engines.push(home);
  const uid = await serviceUid();
  const status = await run(home, 'engine', 'status');
  const pid = Number(/pid (\d+)/.exec(status.stdout)![1]);
  assert.match(status.stdout, /^Engine running \(pid \d+, account mxgate\)/, 'engine status names the account');
  const engine = await credentials(pid);
  assert.equal(engine.uid, uid, 'the engine runs as mxgate');
  assert.equal(engine.euid, uid);
  assert.equal(engine.capEff, CAP_NET_BIND_SERVICE, 'the one capability left is binding low ports');
  assert.equal(engine.capAmb, CAP_NET_BIND_SERVICE);
  for (const entry of ['', 'config', 'keys', 'queue', 'logs', 'run', 'run/control.sock', 'config/current.json']) {
    assert.equal((await stat(path.join(home, entry))).uid, uid, `${entry || 'the data directory'} belongs to mxgate`);
  }
  for (const key of await readdir(path.join(home, 'keys'))) assert.equal((await stat(path.join(home, 'keys', key))).mode & 0o777, 0o600, key);
  assert.equal((await stat(path.join(home, 'run', 'control.sock'))).mode & 0o777, 0o600);

  await shell(
    home,
    'interfaceconfig new Lo125 --ip 127.0.0.125',
    'listenerconfig new In25 --type public --interface Lo125 --port 25',
    'listenerconfig edit In25 rcptaccess add example.net',
    'listenerconfig setup --workers 1',
    'commit "port 25, one worker"',
  );
  const { probe, greeting } = await SmtpProbe.connect(25, '127.0.0.125');
  assert.match(greeting, /^220 /);
  probe.close();
  const workers = await until(home, 'the listener worker', async () => {
    const below = await descendants(pid);
    return below.length ? below : undefined;
  });
  for (const w of workers) {
    const c = await credentials(w);
    assert.equal(c.uid, uid, `worker ${w} runs as mxgate`);
    assert.equal(c.capEff, CAP_NET_BIND_SERVICE);
  }
  // A port below 1024 added later, long after root was given up.
  const out = await shell(home, 'listenerconfig new Sub587 --type public --interface Lo125 --port 587', 'commit "submission port"');
  assert.match(out, /Changes committed/);
  const sub = await SmtpProbe.connect(587, '127.0.0.125');
  assert.match(sub.greeting, /^220 /);
  sub.probe.close();
  await waitForLog(home, /Listener Sub587 listening on 127\.0\.0\.125 port 587/);

  // The root shell's exports are the engine's to read (the SSH accounts' shell runs in it).
  await shell(home, 'saveconfig service.xml --mask');
  assert.equal((await stat(path.join(home, 'configuration', 'service.xml'))).uid, uid);

  // systemctl reload: SIGHUP re-reads nothing and does not stop the engine.
  process.kill(pid, 'SIGHUP');
  await waitForLog(home, /SIGHUP received: nothing re-read; the configuration changes only by commit \(version 3 runs\)/);
  assert.match((await run(home, 'engine', 'status')).stdout, /Engine running/);
});

test('engine run as root under systemd: READY=1 over NOTIFY_SOCKET names the engine running as mxgate; SIGTERM to the parent stops it with STOPPING=1', async (t) => {
  if (!isRoot) return t.diagnostic('not root: the foreground start as root is covered in CI');
  const home = path.join(dir, 'foreground');
  const socket = path.join(dir, 'notify.sock');
  // A real unix datagram socket that anyone may write to, as systemd's is (Node has none: perl reads it and prints each message).
  const receiver = spawn('perl', ['-MIO::Socket::UNIX', '-e', '$|=1; my $s=IO::Socket::UNIX->new(Type=>SOCK_DGRAM(),Local=>$ARGV[0]) or die $!; chmod 0777, $ARGV[0]; print "listening\\n"; while (1) { my $m; $s->recv($m, 65536); $m =~ s/\\n/ /g; print "$m\\n"; }', socket]);
  let messages = '';
  receiver.stdout.on('data', (d: Buffer) => (messages += d.toString()));
  t.after(() => void receiver.kill());
  await until(home, 'the notify socket', () => messages.includes('listening'));
  const engine: ChildProcess = spawn(installed, ['--home', home, 'engine', 'run'], { env: { ...ENV, NOTIFY_SOCKET: socket }, stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => engine.on('exit', resolve));
  const ready = await until(home, 'READY=1', () => /READY=1 STATUS=configuration version \d+, \d+ listener\(s\) MAINPID=(\d+)/.exec(messages) ?? undefined, 20_000);
  const mainPid = Number(ready[1]);
  assert.notEqual(mainPid, engine.pid, 'MAINPID is the engine, not the root process that waits for it');
  assert.equal((await credentials(mainPid)).uid, await serviceUid());
  assert.equal((await credentials(engine.pid!)).uid, 0);
  engine.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.match(messages, /STOPPING=1/);
  await waitForLog(home, /mxgate engine stopping/);
});

test('refused with one line: an unknown account, a data directory the account cannot reach (nothing made), a file with a second hard link (root keeps it)', async (t) => {
  if (!isRoot) return t.diagnostic('not root: the refusal for other users is in the second test');
  const unknown = await run(path.join(dir, 'h1'), 'engine', 'start', '--user', 'nosuchaccount');
  assert.equal(unknown.code, 1);
  assert.equal(unknown.stderr, 'mxgate: there is no account "nosuchaccount": create it (useradd --system --user-group nosuchaccount) or choose another --user\n');

  const closed = path.join(dir, 'closed');
  await mkdir(closed, { mode: 0o700 });
  const unreachable = await run(path.join(closed, 'home'), 'engine', 'start');
  assert.equal(unreachable.code, 1);
  assert.match(unreachable.stderr, /^mxgate: the service account mxgate cannot reach the data directory \S+closed\/home: \S+closed \(mode 0700, owner uid 0\) is closed to it; use a data directory it can reach \(--home \/var\/lib\/mxgate\) or --user root\n$/);
  assert.deepEqual(await readdir(closed), [], 'nothing was made');

  // A hard link planted in the data directory to a file of root's must not be handed to mxgate.
  const home = path.join(dir, 'planted');
  await mkdir(path.join(home, 'configuration'), { recursive: true, mode: 0o700 });
  const secret = path.join(dir, 'root-only');
  await writeFile(secret, 'root only\n', { mode: 0o600 });
  await link(secret, path.join(home, 'configuration', 'innocent.txt'));
  const planted = await run(home, 'engine', 'start');
  assert.equal(planted.code, 1);
  assert.match(planted.stderr, /^mxgate: \S+innocent\.txt has 2 hard links; remove the other links before the data directory is handed to mxgate\n$/);
  assert.equal((await stat(secret)).uid, 0, 'root keeps its file');
});
