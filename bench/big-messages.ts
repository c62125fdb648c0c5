/**
 * Peak engine memory while 40 clients send 9 MB messages at once (printed, nothing asserted).
 * Messages are written to the queue while they arrive, so memory should not grow with their size.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import nodemailer from 'nodemailer';
import { applianceWithListener, cleanup, mxgate } from '../test/helpers.js';

const CLIENTS = 40;
const SIZE = 9 * 1024 * 1024;
const { home, port } = await applianceWithListener();

async function shell(...lines: string[]): Promise<void> {
  const run = await mxgate(home, lines.flatMap((l) => ['-c', l]));
  if (run.code !== 0) throw new Error(run.stdout + run.stderr);
}

const kb = async (pid: number, field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

try {
  await shell('listenerconfig edit InboundMail hostaccess default --max-concurrency 100', 'commit bench');
  const pid = Number((await readFile(path.join(home, 'run', 'engine.pid'), 'utf8')).trim());
  const before = await kb(pid, 'VmRSS');
  const body = 'x'.repeat(76) + '\r\n';
  const text = body.repeat(Math.ceil(SIZE / body.length));
  let peak = 0;
  const sampler = setInterval(() => void kb(pid, 'VmRSS').then((v) => (peak = Math.max(peak, v))), 20);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, i) => {
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port, ignoreTLS: true });
      await transport.sendMail({ from: 'b@example.org', to: 'user@example.com', subject: `big ${i}`, text });
      transport.close();
    }),
  );
  clearInterval(sampler);
  const seconds = (performance.now() - t0) / 1000;
  console.log(`${CLIENTS} concurrent ${SIZE / 1024 / 1024} MB messages accepted in ${seconds.toFixed(1)} s; engine RSS ${Math.round(before / 1024)} MB before, peak ${Math.round(peak / 1024)} MB sampled, VmHWM ${Math.round((await kb(pid, 'VmHWM')) / 1024)} MB`);
} finally {
  await cleanup(home);
}
