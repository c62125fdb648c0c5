/**
 * What MTA-STS on the default destination costs (printed, nothing asserted): delivery throughput
 * with a new connection per message, TLS Preferred, MTA-STS off, then on for a domain with a cached
 * enforce policy, then on for a domain without any policy (the common case on the internet). A test
 * resolver and the policy host (127.0.0.6:443) run on loopback.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import nodemailer from 'nodemailer';
import { applianceWithListener, cleanup, mxgate } from '../test/helpers.js';
import { testDnsServer } from '../test/dns-server.js';
import { opensslChain } from '../test/pki-fixtures.js';
import { smtpSink } from '../test/sink.js';
import { enforcePolicy, stsPolicyHost } from '../test/sts-host.js';

const COUNT = 300;
const chain = opensslChain();
const leaf = chain.issueWithKey('mx.bench.test', ['mx.bench.test']);
const sink = await smtpSink({ tls: { key: leaf.key, cert: leaf.cert + chain.intermediate } });
const dns = await testDnsServer({
  'mx.bench.test': { A: ['127.0.0.1'] },
  '_mta-sts.sts.test': { TXT: ['v=STSv1; id=1'] },
  'mta-sts.sts.test': { A: ['127.0.0.6'] },
});
const host = await stsPolicyHost(chain, '127.0.0.6');
host.policies.set('sts.test', { body: enforcePolicy(['mx.bench.test']) });
const { home, port } = await applianceWithListener();

async function shell(...lines: string[]): Promise<void> {
  const run = await mxgate(home, lines.flatMap((l) => ['-c', l]));
  if (run.code !== 0) throw new Error(run.stdout + run.stderr);
}

async function round(label: string, domain: string, mtaSts: 'yes' | 'no', tls = 'preferred'): Promise<number> {
  await shell(`destconfig default --tls ${tls} --mta-sts ${mtaSts} --messages-per-connection 1`, `commit "${label}"`);
  const before = sink.received.length;
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, pool: true, maxConnections: 4, ignoreTLS: true });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: COUNT }, (_, i) => transport.sendMail({ from: 'b@example.org', to: `user@${domain}`, subject: `bench ${i}`, text: 'x'.repeat(2000) })));
  transport.close();
  while (sink.received.length < before + COUNT) await new Promise((r) => setTimeout(r, 20));
  const rate = COUNT / ((performance.now() - t0) / 1000);
  console.log(`${label}: ${rate.toFixed(1)} deliveries/s end to end (${COUNT} messages, a new TLS connection each)`);
  return rate;
}

try {
  await writeFile(path.join(home, 'configuration', 'root.pem'), chain.root);
  await shell(
    'listenerconfig edit InboundMail rcptaccess add .test',
    'listenerconfig edit InboundMail hostaccess default --max-messages 100000 --max-concurrency 100',
    `dnsconfig servers 127.0.0.1:${dns.port}`,
    `smtproutes new sts.test mx.bench.test:${sink.port}`,
    `smtproutes new nosts.test mx.bench.test:${sink.port}`,
    'certconfig certauthority custom import --file root.pem',
    'certconfig certauthority custom enable',
    'commit bench',
  );
  const off = await round('MTA-STS off (default entry), Preferred', 'sts.test', 'no');
  const verified = await round('MTA-STS off, Required (Verify): the same certificate check MTA-STS makes', 'sts.test', 'no', 'required-verify');
  const on = await round('MTA-STS on, enforce policy cached, verified TLS', 'sts.test', 'yes');
  const none = await round('MTA-STS on, domain without a policy', 'nosts.test', 'yes');
  console.log(`ratio on/off: ${(none / off).toFixed(2)} for a domain without a policy; ${(on / verified).toFixed(2)} with an enforce policy against Required (Verify) (${(on / off).toFixed(2)} against unverified Preferred); policy fetches: ${host.fetches.get('sts.test') ?? 0}`);
} finally {
  await cleanup(home);
  await sink.close();
  await dns.close();
  await host.close();
}
