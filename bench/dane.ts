/**
 * What DANE costs in delivery (printed, nothing asserted): end-to-end deliveries per second to one
 * domain with a new TLS connection per message, DANE None against DANE Opportunistic with a secure
 * TLSA 3 1 1 record (every delivery looks up and validates the address and TLSA RRsets), with the
 * engine's DNS cache and without it (MXGATE_DNS_CACHE_BYTES=0: every lookup asks unbound and
 * validates the chain from the trust anchor again). The zone comes from the DNSSEC lab (ECDSA P-256,
 * NSEC3, served by NSD, asked through unbound with checking disabled: validation builtin).
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import nodemailer from 'nodemailer';
import { association } from '../src/pki/tlsa.js';
import { startDnssecHierarchy } from '../test/dnssec-hierarchy.js';
import { applianceWithListener, cleanup, mxgate, stopEngine, TEST_ENV } from '../test/helpers.js';
import { opensslChain } from '../test/pki-fixtures.js';
import { smtpSink } from '../test/sink.js';
import { median } from './report.js';

const COUNT = 300;
const chain = opensslChain();
const leaf = chain.issueWithKey('mx.dane.lab', ['mx.dane.lab']);
const sink = await smtpSink({ tls: { key: leaf.key, cert: leaf.cert + chain.intermediate } });
const spki = association(new X509Certificate(leaf.cert), 1, 1).toString('hex');
const lab = await startDnssecHierarchy('lab', [], [{ name: 'dane.lab', algorithm: 'ECDSAP256SHA256', records: ['mx IN A 127.0.0.1', `_${sink.port}._tcp.mx IN TLSA 3 1 1 ${spki}`], nsec3: { iterations: 0 } }]);
const { home, port } = await applianceWithListener();

async function shell(...lines: string[]): Promise<void> {
  const run = await mxgate(home, lines.flatMap((l) => ['-c', l]));
  if (run.code !== 0) throw new Error(run.stdout + run.stderr);
}

async function round(dane: 'none' | 'opportunistic'): Promise<number> {
  await shell(`destconfig default --tls preferred --dane ${dane} --mta-sts no --messages-per-connection 1`, `commit "DANE ${dane}"`);
  const before = sink.received.length;
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, pool: true, maxConnections: 4, ignoreTLS: true });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: COUNT }, (_, i) => transport.sendMail({ from: 'b@example.org', to: 'user@dane.lab', subject: `bench ${i}`, text: 'x'.repeat(2000) })));
  transport.close();
  while (sink.received.length < before + COUNT) await new Promise((r) => setTimeout(r, 20));
  return COUNT / ((performance.now() - t0) / 1000);
}

const daneSuccesses = async () => (await readFile(path.join(home, 'logs', 'mail_logs', 'mail.current'), 'utf8')).match(/DANE SUCCESS for dane\.lab/g)?.length ?? 0;

/** None and Opportunistic in turn, three rounds each after one to warm up; the median of each. */
async function compare(label: string): Promise<{ plain: number; dane: number }> {
  await round('none');
  const plain: number[] = [];
  const dane: number[] = [];
  const successes = await daneSuccesses();
  for (let i = 0; i < 3; i++) {
    plain.push(await round('none'));
    dane.push(await round('opportunistic'));
  }
  const authenticated = (await daneSuccesses()) - successes;
  if (authenticated !== 3 * COUNT) throw new Error(`${authenticated} deliveries were DANE-authenticated, not ${3 * COUNT}`);
  const m = { plain: median(plain), dane: median(dane) };
  console.log(`  ${label.padEnd(22)} DANE None ${m.plain.toFixed(1)}/s   DANE Opportunistic ${m.dane.toFixed(1)}/s (every one DANE-authenticated)   DANE costs ${((1 - m.dane / m.plain) * 100).toFixed(1)} %`);
  return m;
}

try {
  await shell(
    'listenerconfig edit InboundMail rcptaccess add .lab',
    'listenerconfig edit InboundMail hostaccess default --max-messages 100000 --max-concurrency 100',
    `dnsconfig servers ${lab.resolver.host}:${lab.resolver.port}`,
    'dnsconfig validation builtin',
    'dnsconfig trustanchor delete 20326',
    'dnsconfig trustanchor delete 38696',
    `dnsconfig trustanchor add --ds "${lab.anchor.replace(/\s+/g, ' ')}"`,
    `smtproutes new dane.lab mx.dane.lab:${sink.port}`,
    'commit bench',
  );
  console.log(`DANE in delivery: deliveries per second, ${COUNT} messages to dane.lab per round, a new TLS connection each (median of 3 rounds)`);
  await compare('with the DNS cache');
  // The same engine without a cache: restarted with a budget of 0 bytes.
  await stopEngine(home);
  (TEST_ENV as Record<string, string>).MXGATE_DNS_CACHE_BYTES = '0';
  await compare('without a DNS cache');
  console.log('goal: DANE costs < 5 % of throughput with the cache');
} finally {
  await cleanup(home);
  await sink.close();
  await lab.close();
}
