/**
 * Delivery throughput with verified TLS (Required (Verify)) to a local sink, printed (nothing is
 * asserted): once with a new connection per message (destconfig messages per connection 1), once
 * with connections reused (up to 50 messages each, the default).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import nodemailer from 'nodemailer';
import { applianceWithListener, cleanup, mxgate } from '../test/helpers.js';
import { opensslChain } from '../test/pki-fixtures.js';
import { smtpSink } from '../test/sink.js';

const COUNT = 200;
const chain = opensslChain();
const leaf = chain.issueWithKey('mx.bench.test', ['bench.test']);
const sink = await smtpSink({ tls: { key: leaf.key, cert: leaf.cert + chain.intermediate } });
const { home, port } = await applianceWithListener();

async function shell(...lines: string[]): Promise<void> {
  const run = await mxgate(home, lines.flatMap((l) => ['-c', l]));
  if (run.code !== 0) throw new Error(run.stdout + run.stderr);
}

async function round(label: string, messagesPerConnection: number): Promise<void> {
  await shell(`destconfig edit bench.test --messages-per-connection ${messagesPerConnection}`, `commit "${label}"`);
  const before = sink.received.length;
  const sessionsBefore = sink.perSession!().length;
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, pool: true, maxConnections: 4, ignoreTLS: true });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: COUNT }, (_, i) => transport.sendMail({ from: 'b@example.org', to: 'user@bench.test', subject: `bench ${i}`, text: 'x'.repeat(2000) })));
  transport.close();
  const accepted = performance.now();
  while (sink.received.length < before + COUNT) await new Promise((r) => setTimeout(r, 20));
  const done = performance.now();
  const sessions = sink.perSession!().length - sessionsBefore;
  console.log(`${label}: accepted ${COUNT} in ${((accepted - t0) / 1000).toFixed(2)} s; delivered with verified TLS at ${(COUNT / ((done - t0) / 1000)).toFixed(1)} deliveries/s end to end (${((done - t0) / COUNT).toFixed(1)} ms per message) over ${sessions} connections`);
}

try {
  await writeFile(path.join(home, 'configuration', 'root.pem'), chain.root);
  await shell(
    'listenerconfig edit InboundMail rcptaccess add bench.test',
    'listenerconfig edit InboundMail hostaccess default --max-messages 100000 --max-concurrency 100',
    `smtproutes new bench.test 127.0.0.1:${sink.port}`,
    'destconfig new bench.test --tls required-verify',
    'certconfig certauthority custom import --file root.pem',
    'certconfig certauthority custom enable',
    'commit bench',
  );
  await round('new connection per message', 1);
  await round('connections reused (up to 50 messages)', 50);
} finally {
  await cleanup(home);
  await sink.close();
}
