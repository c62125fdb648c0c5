/**
 * A cluster of three appliances on loopback (127.0.0.51-53, each with its etcd member):
 *  - commit on one member → applied on all three (each member's mail log records the cluster
 *    version it applied): median and worst of 20 commits;
 *  - mail throughput of one member with the cluster running vs the same member standalone
 *    (plaintext, 8 sessions, 1 message each, 400 messages).
 * Printed, nothing asserted.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import nodemailer from 'nodemailer';
import { request } from '../src/control/client.js';
import { dataPaths } from '../src/store/paths.js';
import type { Config } from '../src/store/schema.js';
import { cleanup, mxgate, tempHome } from '../test/helpers.js';

const IPS = ['127.0.0.51', '127.0.0.52', '127.0.0.53'];
const PORT = 2525;
const homes: string[] = [];

async function shell(i: number, ...lines: string[]): Promise<string> {
  const run = await mxgate(homes[i]!, lines.flatMap((l) => ['-c', l]));
  if (run.code !== 0) throw new Error(run.stdout + run.stderr);
  return run.stdout;
}

async function throughput(ip: string, messages = 400, sessions = 8): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: sessions }, async () => {
      while (next < messages) {
        next += 1;
        const t = nodemailer.createTransport({ host: ip, port: PORT, ignoreTLS: true });
        await t.sendMail({ from: 'b@example.org', to: 'user@example.net', subject: 'bench', text: 'hello\n' });
        t.close();
      }
    }),
  );
  return messages / ((performance.now() - t0) / 1000);
}

const mailLog = (i: number) => readFile(path.join(homes[i]!, 'logs', 'mail_logs', 'mail.current'), 'utf8');

try {
  for (const [i, ip] of IPS.entries()) {
    homes.push(await tempHome());
    await shell(i, `sethostname bench${i + 1}.cluster.test`, `interfaceconfig new Public --ip ${ip}`, 'commit');
  }
  await shell(0, `listenerconfig new InboundMail --type public --interface Public --port ${PORT}`, 'listenerconfig edit InboundMail rcptaccess add example.net', 'commit');
  const standalone = await throughput(IPS[0]!);

  await shell(0, `clusterconfig create Bench --address ${IPS[0]}`);
  for (const i of [1, 2]) {
    const token = (await shell(0, 'clusterconfig token')).trim().split('\n').at(-1)!;
    await shell(i, `clusterconfig join ${IPS[0]}:2380 --token ${token} --address ${IPS[i]}`);
  }
  const paths = dataPaths(homes[0]!);
  const times: number[] = [];
  for (let n = 0; n < 20; n++) {
    const head = await request(paths.socket, 'config', { level: { kind: 'cluster' } });
    const config: Config = { ...head.config, queue: { ...head.config.queue, maxDeliveries: 10 + (n % 2) } };
    const t0 = performance.now();
    const meta = await request(paths.socket, 'commit', { baseVersion: head.version, config, comment: `bench ${n}`, user: 'bench', level: { kind: 'cluster' } });
    const line = `Cluster Bench version ${meta.version}: bench ${n}`;
    for (;;) {
      const logs = await Promise.all([0, 1, 2].map(mailLog));
      if (logs.every((l) => l.includes(line))) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const clustered = await throughput(IPS[0]!);
  console.log(`cluster of 3: commit on one member -> applied on all three: median ${times[10]!.toFixed(0)} ms, worst ${times[19]!.toFixed(0)} ms (20 commits)`);
  console.log(`mail on one member: standalone ${standalone.toFixed(0)} msg/s, in the cluster ${clustered.toFixed(0)} msg/s (ratio ${(clustered / standalone).toFixed(2)})`);
} finally {
  for (const h of homes) await cleanup(h);
}
