/**
 * Inbound rate with thousands of messages waiting for a dead destination, against the rate with an
 * (almost) empty queue (printed, nothing asserted; the goal is within 10 %). The messages go to a
 * route whose port refuses connections, in both runs, so delivery work is the same: none.
 *
 *   node --import tsx bench/dead-destination.ts [WAITING] [SECONDS]
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { applianceWithListener, cleanup, freePort, mxgate } from '../test/helpers.js';
import { load as loadWith } from './load.js';

const WAITING = Number(process.argv[2] ?? 5000);
const SECONDS = Number(process.argv[3] ?? 8);

const load = (port: number, seconds: number) => loadWith(port, 'plain1', { seconds, sizeKb: 10 });

async function appliance() {
  const { home, port } = await applianceWithListener();
  const dead = await freePort();
  const r = await mxgate(home, [
    '-c', `smtproutes new example.net 127.0.0.1:${dead}`,
    '-c', 'bounceconfig new slow --retry-initial 600 --retry-max 3600',
    '-c', 'destconfig new example.net --tls no --bounce-profile slow',
    '-c', 'listenerconfig edit InboundMail hostaccess policy ACCEPTED --max-concurrency 1000 --max-messages 1000',
    '-c', 'commit "dead route"',
  ]);
  if (r.code !== 0) throw new Error(r.stdout + r.stderr);
  return { home, port };
}

/** Messages in the queue: one `<MID>.msg` file each. */
const queued = async (home: string) => (await readdir(path.join(home, 'queue'))).filter((f) => f.endsWith('.msg')).length;

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
