/**
 * Delivery throughput with verified TLS (Required (Verify)) to a local sink, printed (nothing is
 * asserted). Connection reuse is not implemented yet: every message gets its own connection.
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
try {
  await writeFile(path.join(home, 'configuration', 'root.pem'), chain.root);
  const lines = [
    'listenerconfig edit InboundMail rcptaccess add bench.test',
    'listenerconfig edit InboundMail hostaccess default --max-messages 100000 --max-concurrency 100',
    `smtproutes new bench.test 127.0.0.1:${sink.port}`,
    'destconfig new bench.test --tls required-verify',
    'certconfig certauthority custom import --file root.pem',
    'certconfig certauthority custom enable',
    'commit bench',
  ];
  await mxgate(home, lines.flatMap((l) => ['-c', l]));
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, pool: true, maxConnections: 4, ignoreTLS: true });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: COUNT }, (_, i) => transport.sendMail({ from: 'b@example.org', to: 'user@bench.test', subject: `bench ${i}`, text: 'x'.repeat(2000) })));
  transport.close();
  const accepted = performance.now();
  while (sink.received.length < COUNT) await new Promise((r) => setTimeout(r, 20));
  const done = performance.now();
  console.log(`accepted ${COUNT} messages in ${((accepted - t0) / 1000).toFixed(2)} s`);
  console.log(`delivered ${COUNT} messages with verified TLS, one connection each: ${(COUNT / ((done - t0) / 1000)).toFixed(1)} deliveries/s end to end (${((done - t0) / COUNT).toFixed(1)} ms per message)`);
} finally {
  await cleanup(home);
  await sink.close();
}
