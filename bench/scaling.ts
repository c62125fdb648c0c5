/**
 * The listener workers' scaling, as far as a 2-core machine can draw it (printed, nothing
 * asserted): the engine and its workers pinned to core 0 (taskset), the load generator and the
 * discard sink to core 1, with no worker and with one; then the same unpinned. The pinned pair
 * shows what a worker costs when it brings no core of its own (the engine alone on one core is the
 * first point of the curve); on 4+ cores each worker has one, and the unpinned rows show what the
 * second core gives here. Same load generator, certificate (ECDSA P-256) and cases as
 * bench/vs-postfix.ts; after a warm-up, medians of ROUNDS runs, CPU per operation of the engine's
 * process tree (with a worker: the engine's own share after the colon). A last table projects
 * the curve to more cores from the pinned one-worker row's split of the CPU.
 *
 *   node --import tsx bench/scaling.ts [SECONDS_PER_CASE] [ROUNDS]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { dataPaths } from '../src/store/paths.js';
import { applianceWithListener, cleanup, mxgate } from '../test/helpers.js';
import { opensslChain } from '../test/pki-fixtures.js';
import { childrenOf, processCpuSeconds, settledCpu } from './cpu.js';
import { load } from './load.js';
import { benchListener } from './listener.js';
import { discardSink } from './sink.js';
import { median, printTable } from './report.js';

const SECONDS = Number(process.argv[2] ?? 6);
const ROUNDS = Number(process.argv[3] ?? 3);
const CASES = [
  { label: 'STARTTLS handshakes (conn/s)', mode: 'handshake' },
  { label: 'STARTTLS, 1 message per connection', mode: 'tls1' },
  { label: 'plaintext, 1 message per connection', mode: 'plain1' },
];
const SETUPS = [
  { label: 'core 0: engine alone', workers: 0, pinned: true },
  { label: 'core 0: engine + 1 worker', workers: 1, pinned: true },
  { label: 'both cores: engine alone', workers: 0, pinned: false },
  { label: 'both cores: engine + 1 worker', workers: 1, pinned: false },
];

/** The process and its children (the listener workers), every thread of each, onto `cpus`. */
function pin(pid: number, cpus: string): void {
  for (const p of [pid, ...childrenOf(pid)]) execFileSync('taskset', ['-a', '-p', '-c', cpus, String(p)], { stdio: 'ignore' });
}

const chain = opensslChain();
const leaf = chain.issueWithKey('mx.test.example', ['mx.test.example'], 3650, { ecdsa: true });
const sink = await discardSink();
const { home, port } = await applianceWithListener();
const shell = async (...lines: string[]) => {
  const r = await mxgate(home, lines.flatMap((l) => ['-c', l]));
  if (r.code !== 0) throw new Error(r.stdout + r.stderr);
};
const rows: string[][] = [];
/** CPU per operation of the engine and of its worker, from the pinned row with one worker. */
const split = new Map<string, { engineMs: number; workerMs: number }>();
try {
  writeFileSync(path.join(home, 'configuration', 'ec.key'), leaf.key);
  writeFileSync(path.join(home, 'configuration', 'ec.pem'), leaf.cert + chain.intermediate);
  await shell(
    ...benchListener,
    `smtproutes new example.net 127.0.0.1:${sink.port}`,
    'commit "bench"',
  );
  const pid = Number(readFileSync(dataPaths(home).pidFile, 'utf8').trim());
  for (const setup of SETUPS) {
    await shell(`listenerconfig setup --workers ${setup.workers}`, `commit "${setup.label}"`);
    pin(pid, setup.pinned ? '0' : '0,1');
    // This process holds the sink: off the engine's core when the engine has one.
    execFileSync('taskset', ['-a', '-p', '-c', setup.pinned ? '1' : '0,1', String(process.pid)], { stdio: 'ignore' });
    const row = [setup.label];
    for (const c of CASES) {
      // Warm-up, not measured: a new worker's code is compiled while it runs.
      await load(port, c.mode, { concurrency: 16, seconds: 3, sizeKb: 10, ...(setup.pinned ? { cpus: '1' } : {}) });
      const runs: { rate: number; cpuMs: number; engineMs: number }[] = [];
      for (let round = 0; round < ROUNDS; round += 1) {
        const before = await settledCpu(pid);
        const engineBefore = processCpuSeconds(pid);
        const r = await load(port, c.mode, { concurrency: 16, seconds: SECONDS, sizeKb: 10, ...(setup.pinned ? { cpus: '1' } : {}) });
        const tree = await settledCpu(pid);
        const perOp = (seconds: number) => (r.ops ? (seconds * 1000) / r.ops : 0);
        runs.push({ rate: r.rate, cpuMs: perOp(tree - before), engineMs: perOp(processCpuSeconds(pid) - engineBefore) });
      }
      const [cpuMs, engineMs] = [median(runs.map((r) => r.cpuMs)), median(runs.map((r) => r.engineMs))];
      row.push(`${median(runs.map((r) => r.rate))} (${cpuMs.toFixed(2)} ms${setup.workers ? `: engine ${engineMs.toFixed(2)}` : ''})`);
      if (setup.workers && setup.pinned) split.set(c.label, { engineMs, workerMs: cpuMs - engineMs });
    }
    rows.push(row);
  }
} finally {
  await cleanup(home);
  sink.close();
}

printTable(
  `Listener workers on this machine: operations/s (engine tree CPU per op), 16 concurrent sessions, ${SECONDS} s per case, median of ${ROUNDS}; the load generator and sink on core 1 in the pinned rows`,
  ['engine placement', ...CASES.map((c) => `${c.label} (CPU/op)`)],
  rows,
);
console.log('Projection from the pinned one-worker row (not measured): each worker on a core of its own, the engine on one more; operations/s = min(workers x 1000 / worker ms, 1000 / engine ms)');
for (const [label, { engineMs, workerMs }] of split) {
  const limit = (n: number) => Math.round(Math.min((n * 1000) / workerMs, 1000 / engineMs));
  console.log(`  ${label}: engine ${engineMs.toFixed(2)} ms + worker ${workerMs.toFixed(2)} ms per op; 1/2/3/4 workers: ${[1, 2, 3, 4].map(limit).join(' / ')}`);
}
