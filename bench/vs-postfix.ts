/**
 * mxgate and Postfix side by side, in one run, on this machine (printed, nothing asserted):
 * the same ECDSA P-256 certificate, the same load generator (bench/smtp-load.py, asyncio, its own
 * process), the same concurrency and message sizes. mxgate has a public listener with TLS
 * Preferred and relays to a local sink that discards (bench-only, costs next to nothing); Postfix (Debian's, as in the interop suite; run as root)
 * queues and delivers locally. The table gives each rate and the ratio mxgate / Postfix.
 *
 * Each case runs first for 20 seconds on each system unmeasured (a warm-up: a long-running
 * gateway's code is compiled; Postfix's is from the start), then ROUNDS times, mxgate and Postfix
 * taking turns to go first; the table gives the median of each and the range of the per-round
 * ratios (single runs on this machine vary by ±30 %).
 * CPU per operation (message, or connection for the handshake row) is each system's whole process
 * tree (mxgate's engine and workers; Postfix's master and everything it forks), the queue's work
 * after the load included; the load generator is not counted.
 *
 *   node --import tsx bench/vs-postfix.ts [SECONDS_PER_CASE] [ROUNDS] [CASE]
 * MXGATE_BENCH_WORKERS sets mxgate's listener workers (default "auto").
 * CASE picks the cases whose mode or label contains it (e.g. "100 KB", "plain1").
 */
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import { accepts, applianceWithListener, cleanup, freePort, mxgate } from '../test/helpers.js';
import { opensslChain } from '../test/pki-fixtures.js';
import { startPostfix } from '../test/postfix.js';
import { dataPaths } from '../src/store/paths.js';
import { load as loadWith } from './load.js';
import { benchListener } from './listener.js';
import { discardSink } from './sink.js';
import { settledCpu } from './cpu.js';
import { median, printTable } from './report.js';

const SECONDS = Number(process.argv[2] ?? 8);
const ROUNDS = Number(process.argv[3] ?? 3);
const ONLY = process.argv[4];
const CONCURRENCY = 16;

/**
 * Long enough for V8 to have compiled the row's code: after 3 s of a row, its optimizing compiler was
 * still 11 % of the engine's CPU over the next 7 s (tls1; 5 % on the handshake row), after 15 s 2.7 %,
 * after 40 s 0.5 % (perf samples of the engine). A gateway runs for days; Postfix's code is compiled.
 */
const WARM_UP_SECONDS = 20;

const load = (port: number, mode: string, sizeKb: number, seconds = SECONDS) => loadWith(port, mode, { concurrency: CONCURRENCY, seconds, sizeKb });

/** An ECDSA P-256 server certificate for mx.test.example from the test chain's intermediate. */
function ecdsaCertificate(chain: ReturnType<typeof opensslChain>): { key: string; cert: string } {
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: chain.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ec.key', '-out', 'ec.csr', '-subj', '/CN=mx.test.example']);
  run(['x509', '-req', '-in', 'ec.csr', '-CA', 'int.pem', '-CAkey', 'int.key', '-CAcreateserial', '-out', 'ec.pem', '-days', '365', '-extfile', 'leaf.ext']);
  const read = (f: string) => readFileSync(path.join(chain.dir, f), 'utf8');
  return { key: read('ec.key'), cert: read('ec.pem') + chain.intermediate };
}

/** openssl s_server with the same key and certificate, on a free port. */
async function opensslServer(pair: { key: string; cert: string }): Promise<{ port: number; stop(): void }> {
  writeFileSync(path.join(chain.dir, 'srv.key'), pair.key);
  writeFileSync(path.join(chain.dir, 'srv.pem'), pair.cert);
  const port = await freePort();
  const child = spawn('openssl', ['s_server', '-quiet', '-naccept', '1000000', '-accept', `127.0.0.1:${port}`, '-key', 'srv.key', '-cert', 'srv.pem'], { cwd: chain.dir, stdio: ['pipe', 'ignore', 'ignore'] });
  await until(() => accepts(port));
  return { port, stop: () => child.kill() };
}

async function until(probe: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100 && !(await probe()); i += 1) await new Promise((r) => setTimeout(r, 50));
}

/** Engine RSS with `count` idle SMTP connections open (after the banner). */
async function idleRss(home: string, port: number, count: number): Promise<string> {
  const pid = Number(readFileSync(dataPaths(home).pidFile, 'utf8').trim());
  // The engine and its listener workers (its children): the connections are spread over them.
  const parentOf = (p: string) => {
    try {
      return readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]?.split(' ')[1];
    } catch {
      return undefined; // gone meanwhile
    }
  };
  const workers = () => readdirSync('/proc').filter((p) => /^\d+$/.test(p) && parentOf(p) === String(pid)).map(Number);
  const rssOf = (p: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  const rss = () => [pid, ...workers()].reduce((sum, p) => sum + rssOf(p), 0);
  const before = rss();
  const sockets: net.Socket[] = [];
  let greeted = 0;
  for (let i = 0; i < count; i += 1) {
    const s = net.connect(port, '127.0.0.1');
    s.once('data', () => (greeted += 1));
    s.on('error', () => undefined);
    sockets.push(s);
    if (i % 100 === 99) await new Promise((r) => setTimeout(r, 50));
  }
  for (let i = 0; i < 200 && greeted < count; i += 1) await new Promise((r) => setTimeout(r, 50));
  const during = rss();
  for (const s of sockets) s.destroy();
  return `Engine RSS (with its ${workers().length} listener worker(s)): ${before.toFixed(0)} MB idle, ${during.toFixed(0)} MB with ${greeted} of ${count} idle connections greeted (goal < 200 MB)`;
}

const CASES = [
  { label: 'STARTTLS handshakes only (conn/s)', mode: 'handshake', size: 10 },
  { label: 'STARTTLS, 1 message per connection', mode: 'tls1', size: 10 },
  { label: 'STARTTLS, 10 messages per connection', mode: 'tls10', size: 10 },
  { label: 'plaintext, 1 message per connection', mode: 'plain1', size: 10 },
  { label: 'STARTTLS, 100 KB, 1 per connection', mode: 'tls1', size: 100 },
];

const chain = opensslChain();
const ecdsa = ecdsaCertificate(chain);
const sink = await discardSink();
const { home, port } = await applianceWithListener();
const conf = (f: string) => path.join(home, 'configuration', f);
writeFileSync(conf('ec.key'), ecdsa.key);
writeFileSync(conf('ec.pem'), ecdsa.cert);
const setup = await mxgate(home, [
  ...[
    ...benchListener,
    `smtproutes new example.net 127.0.0.1:${sink.port}`,
    // MXGATE_BENCH_WORKERS=0 compares the engine alone with its default of one worker per core besides it.
    `listenerconfig setup --workers ${process.env.MXGATE_BENCH_WORKERS ?? 'auto'}`,
    'commit "bench"',
  ].flatMap((l) => ['-c', l]),
]);
if (setup.code !== 0) throw new Error(`mxgate set-up failed:\n${setup.stdout}${setup.stderr}`);
const postfix = await startPostfix({ domain: 'example.net', hostname: 'mx.test.example', tls: { key: ecdsa.key, cert: ecdsa.cert } });

const mxgatePid = Number(readFileSync(dataPaths(home).pidFile, 'utf8').trim());
const postfixPid = Number(readFileSync(path.join((await postfix.command('postconf', '-h', 'queue_directory')).trim(), 'pid', 'master.pid'), 'utf8').trim());
/** One load run with the CPU its system used for it, per operation (ms), the queue's work after the load included. */
async function measured(port: number, root: number, mode: string, size: number): Promise<Awaited<ReturnType<typeof load>> & { cpuMs: number }> {
  const before = await settledCpu(root);
  const r = await load(port, mode, size);
  const after = await settledCpu(root);
  return { ...r, cpuMs: r.ops ? ((after - before) * 1000) / r.ops : 0 };
}

const rows: string[][] = [];
const extras: string[] = [];
try {
  for (const c of CASES.filter((k) => !ONLY || k.mode === ONLY || k.label.includes(ONLY))) {
    // Warm-up, not measured: mxgate's JavaScript is compiled to machine code while it runs (see WARM_UP_SECONDS).
    await load(port, c.mode, c.size, WARM_UP_SECONDS);
    await load(postfix.port, c.mode, c.size, WARM_UP_SECONDS);
    const runs: { m: Awaited<ReturnType<typeof measured>>; p: Awaited<ReturnType<typeof measured>> }[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      // Taking turns at going first cancels a drift of the machine within the round.
      if (round % 2 === 0) {
        const m = await measured(port, mxgatePid, c.mode, c.size);
        runs.push({ m, p: await measured(postfix.port, postfixPid, c.mode, c.size) });
      } else {
        const p = await measured(postfix.port, postfixPid, c.mode, c.size);
        runs.push({ m: await measured(port, mxgatePid, c.mode, c.size), p });
      }
    }
    const ratios = runs.map((r) => r.m.rate / r.p.rate);
    const mid = runs.find((r) => r.m.rate / r.p.rate === median(ratios))!;
    const [mRate, pRate] = [median(runs.map((r) => r.m.rate)), median(runs.map((r) => r.p.rate))];
    const errors = `${runs.reduce((n, r) => n + r.m.errors, 0)}/${runs.reduce((n, r) => n + r.p.errors, 0)}`;
    const [mCpu, pCpu] = [median(runs.map((r) => r.m.cpuMs)), median(runs.map((r) => r.p.cpuMs))];
    const cpuRatios = runs.map((r) => r.m.cpuMs / r.p.cpuMs);
    const cpu = `${mCpu.toFixed(2)}/${pCpu.toFixed(2)} (${(mCpu / pCpu).toFixed(2)}, ${Math.min(...cpuRatios).toFixed(2)}-${Math.max(...cpuRatios).toFixed(2)})`;
    rows.push([c.label, `${mRate}`, `${pRate}`, median(ratios).toFixed(2), `${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}`, cpu, `${mid.m.p50}/${mid.m.p99}`, `${mid.p.p50}/${mid.p.p99}`, errors]);
    if (c.mode === 'handshake') {
      const s = await opensslServer(ecdsa);
      try {
        const raw = await load(s.port, 'rawtls', 0);
        extras.push(`Full TLS handshakes/s: openssl s_server (same key, no SMTP) ${raw.rate}; mxgate STARTTLS sessions ${mRate} (median); ratio ${(mRate / raw.rate).toFixed(2)} (goal >= 0.7)`);
      } finally {
        s.stop();
      }
    }
  }
  extras.push(await idleRss(home, port, 1000));
  // The relay must keep up, not only accept: how long until mxgate's queue is empty.
  const t0 = Date.now();
  let queued = -1;
  while (Date.now() - t0 < 60_000) {
    queued = Number(/(\d+) message\(s\) queued/.exec((await mxgate(home, ['engine', 'status'])).stdout)?.[1] ?? -1);
    if (queued === 0) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  extras.push(`Relay: ${sink.received()} messages delivered to the sink; queue ${queued === 0 ? `empty ${((Date.now() - t0) / 1000).toFixed(1)} s after the load ended` : `still holds ${queued} after 60 s`}`);
} finally {
  await postfix.stop();
  await cleanup(home);
  sink.close();
}

printTable(
  `mxgate vs Postfix, ${CONCURRENCY} concurrent sessions, ${SECONDS} s per case, median of ${ROUNDS} rounds, ECDSA P-256, 10 KB messages unless said`,
  ['case', 'mxgate', 'Postfix', 'ratio', 'ratio range', 'CPU ms/op mxgate/Postfix (ratio, range)', 'mxgate p50/p99 ms', 'Postfix p50/p99 ms', 'errors'],
  rows,
);
for (const e of extras) console.log(e);
