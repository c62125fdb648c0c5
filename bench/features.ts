/**
 * What DANE and MTA-STS cost on bench/vs-postfix.ts's rows (printed, nothing asserted): the same
 * load generator and cases against mxgate alone, relaying over STARTTLS to bench/sink.ts's discard
 * sink, once with both off (TLS Preferred, the baseline) and once with DANE Opportunistic and
 * MTA-STS on for the sink's domain: example.net is signed (ECDSA P-256, NSEC3; NSD behind a
 * validating unbound, the engine's own validation on top), has a TLSA 3 1 1 record for the sink and
 * an MTA-STS enforce policy served from 127.0.0.46:443. Each case runs off and on unmeasured
 * (warm-up), then ROUNDS times, off and on taking turns; medians of throughput and of CPU per
 * operation of the engine's process tree, and the range of the per-round CPU costs.
 *
 *   node --import tsx bench/features.ts [SECONDS_PER_CASE] [ROUNDS] [CASE]
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { association } from '../src/pki/tlsa.js';
import { dataPaths } from '../src/store/paths.js';
import { startDnssecHierarchy } from '../test/dnssec-hierarchy.js';
import { applianceWithListener, cleanup, mxgate } from '../test/helpers.js';
import { opensslChain } from '../test/pki-fixtures.js';
import { enforcePolicy, stsPolicyHost } from '../test/sts-host.js';
import { settledCpu } from './cpu.js';
import { load } from './load.js';
import { benchListener } from './listener.js';
import { discardSink } from './sink.js';
import { median, printTable } from './report.js';

const SECONDS = Number(process.argv[2] ?? 6);
const ROUNDS = Number(process.argv[3] ?? 3);
const ONLY = process.argv[4];
const CASES = [
  { label: 'STARTTLS handshakes only (conn/s)', mode: 'handshake', size: 10 },
  { label: 'STARTTLS, 1 message per connection', mode: 'tls1', size: 10 },
  { label: 'STARTTLS, 10 messages per connection', mode: 'tls10', size: 10 },
  { label: 'plaintext, 1 message per connection', mode: 'plain1', size: 10 },
  { label: 'STARTTLS, 100 KB, 1 per connection', mode: 'tls1', size: 100 },
];

const chain = opensslChain();
const leaf = chain.issueWithKey('mx.example.net', ['mx.example.net'], 3650, { ecdsa: true });
const sink = await discardSink({ tls: { key: leaf.key, cert: leaf.cert + chain.intermediate } });
const spki = association(new X509Certificate(leaf.cert), 1, 1).toString('hex');
const lab = await startDnssecHierarchy('net', [], [
  {
    name: 'example.net',
    algorithm: 'ECDSAP256SHA256',
    nsec3: { iterations: 0 },
    records: ['mx IN A 127.0.0.1', `_${sink.port}._tcp.mx IN TLSA 3 1 1 ${spki}`, '_mta-sts IN TXT "v=STSv1; id=1"', 'mta-sts IN A 127.0.0.46'],
  },
]);
const stsHost = await stsPolicyHost(chain, '127.0.0.46');
stsHost.policies.set('example.net', { body: enforcePolicy(['mx.example.net']) });
const { home, port } = await applianceWithListener();

async function shell(...lines: string[]): Promise<string> {
  const r = await mxgate(home, lines.flatMap((l) => ['-c', l]));
  if (r.code !== 0) throw new Error(r.stdout + r.stderr);
  return r.stdout;
}

const features = (on: boolean) => shell(`destconfig edit example.net --tls preferred --dane ${on ? 'opportunistic' : 'none'} --mta-sts ${on ? 'yes' : 'no'}`, `commit "features ${on ? 'on' : 'off'}"`);

const rows: string[][] = [];
try {
  writeFileSync(path.join(home, 'configuration', 'root.pem'), chain.root);
  writeFileSync(path.join(home, 'configuration', 'ec.key'), leaf.key);
  writeFileSync(path.join(home, 'configuration', 'ec.pem'), leaf.cert + chain.intermediate);
  await shell(
    ...benchListener,
    `dnsconfig servers ${lab.resolver.host}:${lab.resolver.port}`,
    'dnsconfig validation builtin',
    'dnsconfig trustanchor delete 20326',
    'dnsconfig trustanchor delete 38696',
    `dnsconfig trustanchor add --ds "${lab.anchor.replace(/\s+/g, ' ')}"`,
    'certconfig certauthority custom import --file root.pem',
    'certconfig certauthority custom enable',
    `smtproutes new example.net mx.example.net:${sink.port}`,
    'destconfig new example.net --tls preferred --dane none --mta-sts no',
    `listenerconfig setup --workers ${process.env.MXGATE_BENCH_WORKERS ?? 'auto'}`,
    'commit "bench"',
  );
  const pid = Number(readFileSync(dataPaths(home).pidFile, 'utf8').trim());
  const daneSuccesses = () => readFileSync(path.join(home, 'logs', 'mail_logs', 'mail.current'), 'utf8').match(/DANE SUCCESS for example\.net/g)?.length ?? 0;
  const measured = async (mode: string, size: number, seconds = SECONDS) => {
    const before = await settledCpu(pid);
    const r = await load(port, mode, { concurrency: 16, seconds, sizeKb: size });
    return { rate: r.rate, cpuMs: r.ops ? ((await settledCpu(pid)) - before) * 1000 / r.ops : 0 };
  };
  for (const c of CASES.filter((k) => !ONLY || k.mode === ONLY || k.label.includes(ONLY))) {
    const off: { rate: number; cpuMs: number }[] = [];
    const on: { rate: number; cpuMs: number }[] = [];
    // Warm-up, not measured: the code of both paths compiled before either is measured.
    for (const enabled of [false, true]) {
      await features(enabled);
      await measured(c.mode, c.size, 3);
    }
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const enabled of round % 2 === 0 ? [false, true] : [true, false]) {
        await features(enabled);
        (enabled ? on : off).push(await measured(c.mode, c.size));
      }
    }
    const [rOff, rOn, cOff, cOn] = [median(off.map((x) => x.rate)), median(on.map((x) => x.rate)), median(off.map((x) => x.cpuMs)), median(on.map((x) => x.cpuMs))];
    const costs = on.map((x, i) => (x.cpuMs / off[i]!.cpuMs - 1) * 100);
    const cpuRange = `${Math.min(...costs).toFixed(1)} to ${Math.max(...costs).toFixed(1)} %`;
    rows.push([c.label, `${rOff}`, `${rOn}`, `${((1 - rOn / rOff) * 100).toFixed(1)} %`, `${cOff.toFixed(2)}/${cOn.toFixed(2)}`, `${((cOn / cOff - 1) * 100).toFixed(1)} %`, cpuRange]);
  }
  const authenticated = daneSuccesses();
  if (authenticated === 0) throw new Error('no delivery was DANE-authenticated: the "on" rounds did not measure DANE');
  console.log(`DANE-authenticated deliveries: ${authenticated}; MTA-STS policy fetches: ${stsHost.fetches.get('example.net') ?? 0}`);
} finally {
  await cleanup(home);
  sink.close();
  await lab.close();
  await stsHost.close();
}

printTable(
  `DANE and MTA-STS on for the relay's destination, 16 concurrent sessions, ${SECONDS} s per case, median of ${ROUNDS} rounds (goal: cost <= 5 % on every row)`,
  ['case', 'off /s', 'DANE+MTA-STS /s', 'throughput cost', 'CPU ms/op off/on', 'CPU cost', 'CPU cost per round'],
  rows,
);
