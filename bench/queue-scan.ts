/**
 * What a delivery pass pays to find due mail in a large queue: Spool.list() over 5,000 queued
 * envelopes, and the one full read at engine start (Spool.open). Printed, nothing asserted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Spool } from '../src/engine/queue/spool.js';

const COUNT = 5000;
const dir = await mkdtemp(path.join(os.tmpdir(), 'mxgate-bench-spool-'));
try {
  const spool = new Spool(dir);
  await spool.open();
  for (let mid = 1; mid <= COUNT; mid += 1) {
    await spool.enqueue({ mid, icid: 1, listener: 'bench', clientAddress: '127.0.0.1', helo: 'bench', from: 'a@example.org', to: ['b@example.net'], size: 5, receivedAt: new Date().toISOString(), state: 'queued', attempts: 0 }, Buffer.from('hello'));
  }
  let t = performance.now();
  for (let i = 0; i < 10; i += 1) await spool.list();
  console.log(`Spool.list() with ${COUNT} queued messages: ${((performance.now() - t) / 10).toFixed(1)} ms per delivery pass`);
  t = performance.now();
  await new Spool(dir).open();
  console.log(`Spool.open() (engine start, reads every envelope once): ${(performance.now() - t).toFixed(0)} ms`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
