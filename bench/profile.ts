/**
 * Where the engine's CPU goes under one load of bench/vs-postfix.ts: the engine alone (no listener
 * workers) runs with `node --cpu-prof`, relays to the discard sink, and the profile's self time is
 * printed by function and by file (node_modules and node's internals grouped by package / module).
 *
 *   node --import tsx bench/profile.ts [MODE] [SIZE_KB] [SECONDS] [TOP]
 * MODE as in bench/smtp-load.py (default plain1); the .cpuprofile is kept in test-output/profiles/
 * for a closer look (Chrome DevTools, speedscope). MXGATE_PROFILE_OUTBOUND=tls puts the cost on the
 * way out: the sink offers STARTTLS, the relay requires TLS with a new connection per message.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { applianceWithListener, BIN, cleanup, mxgate, TEST_ENV } from '../test/helpers.js';
import { isEngineUp } from '../src/control/client.js';
import { dataPaths } from '../src/store/paths.js';
import { load } from './load.js';
import { discardSink } from './sink.js';
import { opensslChain } from '../test/pki-fixtures.js';

const [MODE = 'plain1', SIZE = '10', SECONDS = '10', TOP = '30'] = process.argv.slice(2);
const OUT = path.resolve('test-output/profiles');
const PROFILES = path.join(OUT, `engine-${process.pid}`);

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time (ms) by key: each sample counts for its node, with the time until the next sample. */
function selfTime(profile: Profile, key: (n: Node) => string): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const k = key(byId.get(id)!);
    totals.set(k, (totals.get(k) ?? 0) + (profile.timeDeltas[i + 1] ?? 0) / 1000);
  });
  return totals;
}

/** Where a frame's code lives: our files by path under src/, a package by name, node's own by module. */
function place(url: string): string {
  if (!url) return '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `npm:${pkg[1]}`;
  if (url.startsWith('node:')) return url;
  const ours = /\/(src|dist)\/(.*)$/.exec(url);
  return ours ? ours[2]! : url;
}

/** An ECDSA P-256 certificate for the sink, as in bench/vs-postfix.ts. */
function sinkCertificate(): { key: string; cert: string } {
  const chain = opensslChain();
  const leaf = chain.issueWithKey('mx.example.net', ['mx.example.net'], 3650, { ecdsa: true });
  return { key: leaf.key, cert: leaf.cert + chain.intermediate };
}

function print(title: string, totals: Map<string, number>, all: number, top: number): void {
  console.log(`\n${title}`);
  for (const [k, ms] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${((ms / all) * 100).toFixed(1).padStart(5)} %  ${ms.toFixed(0).padStart(6)} ms  ${k}`);
}

mkdirSync(PROFILES, { recursive: true });
const OUTBOUND_TLS = process.env.MXGATE_PROFILE_OUTBOUND === 'tls';
const sink = await discardSink(OUTBOUND_TLS ? { tls: sinkCertificate() } : {});
const { home, port } = await applianceWithListener();
try {
  const setup = await mxgate(home, [
    ...[
      'listenerconfig edit InboundMail hostaccess default --tls preferred --max-concurrency 1000 --max-messages 1000',
      'listenerconfig edit InboundMail limits --max-concurrency 1000',
      `smtproutes new example.net 127.0.0.1:${sink.port}`,
      ...(OUTBOUND_TLS ? ['destconfig new example.net --tls required --messages-per-connection 1'] : []),
      'listenerconfig setup --workers 0',
      'commit "profile"',
    ].flatMap((l) => ['-c', l]),
  ]);
  if (setup.code !== 0) throw new Error(`set-up failed:\n${setup.stdout}${setup.stderr}`);
  // The same engine again, in the foreground under --cpu-prof (not allowed in NODE_OPTIONS); it writes
  // its profile when it exits at `engine stop`.
  await mxgate(home, ['engine', 'stop']);
  const engine = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${PROFILES}`, BIN, '--home', home, 'engine', 'run'], { env: TEST_ENV, stdio: 'ignore' });
  const exited = new Promise((res) => engine.once('exit', res));
  for (let i = 0; i < 200 && !(await isEngineUp(dataPaths(home).socket)); i += 1) await new Promise((res) => setTimeout(res, 50));
  const r = await load(port, MODE, { seconds: Number(SECONDS), sizeKb: Number(SIZE) });
  for (let i = 0; i < 100 && sink.received() < r.ops; i += 1) await new Promise((res) => setTimeout(res, 100));
  await mxgate(home, ['engine', 'stop']);
  await exited;
  console.log(`${MODE}, ${SIZE} KB: ${r.rate}/s, p50/p99 ${r.p50}/${r.p99} ms, ${r.errors} errors; ${sink.received()} relayed`);
} finally {
  await cleanup(home);
  sink.close();
}

const files = readdirSync(PROFILES).map((f) => path.join(PROFILES, f));
const engine = files[0];
if (!engine) throw new Error('the engine wrote no profile');
const profile = JSON.parse(readFileSync(engine, 'utf8')) as Profile;
const byFunction = selfTime(profile, (n) => `${n.callFrame.functionName || '(anonymous)'}  ${place(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`);
const all = [...byFunction.values()].reduce((a, b) => a + b, 0);
const idle = byFunction.get(`(idle)  (native):0`) ?? 0;
console.log(`profile ${path.relative(process.cwd(), engine)}: ${all.toFixed(0)} ms sampled, ${((idle / all) * 100).toFixed(0)} % idle`);
print('self time by function', byFunction, all, Number(TOP));
print('self time by file', selfTime(profile, (n) => place(n.callFrame.url)), all, Number(TOP));
