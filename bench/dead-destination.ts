/**
 * Inbound rate with thousands of messages waiting for a dead destination, against the rate with an
 * (almost) empty queue (printed, nothing asserted; the goal is within 10 %). The messages go to a
 * route whose port refuses connections, in both runs, so delivery work is the same: none.
 *
 *   node --import tsx bench/dead-destination.ts [WAITING] [SECONDS]
 */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { applianceWithListener, cleanup, freePort, mxgate } from '../test/helpers.js';

const WAITING = Number(process.argv[2] ?? 5000);
const SECONDS = Number(process.argv[3] ?? 8);
const LOAD = fileURLToPath(new URL('./smtp-load.py', import.meta.url));

function load(port: number, seconds: number): Promise<{ rate: number; ops: number; p50: number; p99: number; errors: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [LOAD, String(port), 'plain1', '16', String(seconds), '10']);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.pipe(process.stderr);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`smtp-load.py exited ${code}`))));
  });
}

async function appliance() {
  const { home, port } = await applianceWithListener();
  const dead = await freePort();
  const r = await mxgate(home, [
    '-c', `smtproutes new example.net 127.0.0.1:${dead}`,
    '-c', 'destconfig new example.net --tls no --retry-initial 600 --retry-max 3600',
    '-c', 'listenerconfig edit InboundMail hostaccess policy ACCEPTED --max-concurrency 1000 --max-messages 1000',
    '-c', 'commit "dead route"',
  ]);
  if (r.code !== 0) throw new Error(r.stdout + r.stderr);
  return { home, port };
}

const queued = async (home: string) => (await readdir(path.join(home, 'queue'))).filter((f) => f.endsWith('.json')).length;

const empty = await appliance();
const base = await load(empty.port, SECONDS);
await cleanup(empty.home);

const full = await appliance();
process.stdout.write(`filling the queue with ${WAITING} messages for the dead destination...`);
while ((await queued(full.home)) < WAITING) await load(full.port, 5);
const waiting = await queued(full.home);
process.stdout.write(` ${waiting} queued\n`);
const loaded = await load(full.port, SECONDS);
await cleanup(full.home);

console.log(`Inbound, plaintext, 1 message per connection, 16 sessions, ${SECONDS} s:`);
console.log(`  queue (almost) empty:                       ${base.rate} msg/s (p50 ${base.p50} ms, p99 ${base.p99} ms)`);
console.log(`  ${waiting} waiting for a dead destination:   ${loaded.rate} msg/s (p50 ${loaded.p50} ms, p99 ${loaded.p99} ms)`);
console.log(`  ratio ${(loaded.rate / base.rate).toFixed(2)} (goal: at least 0.90)`);
