/**
 * Outbound, side by side (printed, nothing asserted): mxgate's delivery and Postfix's smtp client
 * relaying the same number of queued messages to the same sink, TLS required on the way out, with a
 * new connection per message and with connection reuse. The sink is bench/sink.ts's discard sink
 * with STARTTLS (ECDSA P-256, one TLS context): it answers at once and parses next to nothing, so
 * the senders are the limit, not the sink (smtp-server, the tests' sink, greets after 100 ms).
 * Each side first takes the messages in while its way out is closed (mxgate: a route to a port
 * that refuses; Postfix: defer_transports), then the way is opened and the clock runs until the
 * sink has them all; the sender's whole process tree's CPU over that time, divided by the messages,
 * is the CPU per message (Postfix: qmgr and the smtp processes master forks). Each row runs ROUNDS
 * times, the two taking turns at going first; medians and the range of the ratios are printed.
 * Needs root and Debian's postfix, as the interop suite does.
 *
 *   node --import tsx bench/outbound-vs-postfix.ts [MESSAGES] [ROUNDS]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { applianceWithListener, cleanup, freePort, mxgate } from '../test/helpers.js';
import { opensslChain } from '../test/pki-fixtures.js';
import { startPostfix } from '../test/postfix.js';
import { dataPaths } from '../src/store/paths.js';
import { settledCpu } from './cpu.js';
import { load } from './load.js';
import { discardSink } from './sink.js';
import { median, printTable } from './report.js';

const MESSAGES = Number(process.argv[2] ?? 1000);
const ROUNDS = Number(process.argv[3] ?? 3);
const chain = opensslChain();
const ecdsa = chain.issueWithKey('mx.example.net', ['mx.example.net'], 3650, { ecdsa: true });
const tlsSink = () => discardSink({ tls: { key: ecdsa.key, cert: ecdsa.cert + chain.intermediate } });

interface Run {
  count: number;
  seconds: number;
  cpuMs: number;
}

/** Fill a server with at least `count` messages for user@example.net (10 KB, plaintext submission). */
async function fill(port: number, queued: () => Promise<number>): Promise<number> {
  while ((await queued()) < MESSAGES) await load(port, 'plain1', { seconds: 2, sizeKb: 10 });
  return queued();
}

async function until(probe: () => boolean, timeoutMs = 300_000): Promise<number> {
  const t0 = Date.now();
  while (!probe()) {
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
  return (Date.now() - t0) / 1000;
}

/** Open the way out, then time the sink taking `count` messages and the sender's CPU meanwhile. */
async function delivered(root: number, count: number, sink: Awaited<ReturnType<typeof tlsSink>>, open: () => Promise<void>): Promise<Run> {
  const cpuBefore = await settledCpu(root);
  const start = sink.received();
  const t0 = Date.now();
  await open();
  await until(() => sink.received() - start >= count);
  const seconds = (Date.now() - t0) / 1000;
  return { count, seconds, cpuMs: ((await settledCpu(root)) - cpuBefore) * 1000 / count };
}

async function mxgateRun(messagesPerConnection: number): Promise<Run> {
  const { home, port } = await applianceWithListener();
  try {
    const sh = async (...lines: string[]) => {
      const r = await mxgate(home, lines.flatMap((l) => ['-c', l]));
      if (r.code !== 0) throw new Error(r.stdout + r.stderr);
      return r.stdout;
    };
    await sh(
      `smtproutes new example.net 127.0.0.1:${await freePort()}`,
      // Closed: the first attempt fails and the next is an hour away, until the route opens and `deliverynow`.
      'bounceconfig new slow --retry-initial 3600 --retry-max 3600',
      `destconfig new example.net --tls required --max-concurrency 20 --messages-per-connection ${messagesPerConnection} --bounce-profile slow`,
      'listenerconfig edit InboundMail hostaccess policy ACCEPTED --max-concurrency 1000',
      'commit "closed"',
    );
    const queued = async () => Number(/(\d+) message\(s\) queued/.exec((await mxgate(home, ['engine', 'status'])).stdout)?.[1] ?? 0);
    const count = await fill(port, queued);
    const sink = await tlsSink();
    try {
      const pid = Number(readFileSync(dataPaths(home).pidFile, 'utf8').trim());
      return await delivered(pid, count, sink, async () => void (await sh(`smtproutes new example.net 127.0.0.1:${sink.port}`, 'commit "open"', 'deliverynow')));
    } finally {
      sink.close();
    }
  } finally {
    await cleanup(home);
  }
}

async function postfixRun(reuse: boolean): Promise<Run> {
  const sink = await tlsSink();
  const postfix = await startPostfix({
    domain: 'local.invalid',
    hostname: 'relay.test.example',
    main: [
      `relayhost = [127.0.0.1]:${sink.port}`,
      'smtp_tls_security_level = encrypt',
      'smtp_host_lookup = native',
      'defer_transports = smtp',
      'default_destination_concurrency_limit = 20',
      `smtp_connection_cache_on_demand = ${reuse ? 'yes' : 'no'}`,
      ...(reuse ? ['smtp_connection_reuse_count_limit = 100'] : []),
    ],
  });
  try {
    const queued = async () => (await postfix.command('postqueue', '-j')).split('\n').filter(Boolean).length;
    const count = await fill(postfix.port, queued);
    const master = path.join((await postfix.command('postconf', '-h', 'queue_directory')).trim(), 'pid', 'master.pid');
    return await delivered(Number(readFileSync(master, 'utf8').trim()), count, sink, async () => {
      await postfix.command('postconf', '-e', 'defer_transports =');
      await postfix.command('postfix', 'reload');
      await postfix.command('postqueue', '-f');
    });
  } finally {
    await postfix.stop();
    sink.close();
  }
}

const rows: string[][] = [];
for (const [label, perConnection] of [
  ['TLS required, new connection per message', 1],
  ['TLS required, connections reused (up to 100 messages)', 100],
] as const) {
  const runs: { m: Run; p: Run }[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    // Taking turns at going first cancels a drift of the machine within the round.
    if (round % 2 === 0) {
      const m = await mxgateRun(perConnection);
      runs.push({ m, p: await postfixRun(perConnection > 1) });
    } else {
      const p = await postfixRun(perConnection > 1);
      runs.push({ m: await mxgateRun(perConnection), p });
    }
  }
  const rate = (r: Run) => r.count / r.seconds;
  const ratios = runs.map((r) => rate(r.m) / rate(r.p));
  const [mRate, pRate] = [median(runs.map((r) => rate(r.m))), median(runs.map((r) => rate(r.p)))];
  const [mCpu, pCpu] = [median(runs.map((r) => r.m.cpuMs)), median(runs.map((r) => r.p.cpuMs))];
  rows.push([
    label,
    mRate.toFixed(1),
    pRate.toFixed(1),
    median(ratios).toFixed(2),
    `${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}`,
    `${mCpu.toFixed(2)}/${pCpu.toFixed(2)} (${(mCpu / pCpu).toFixed(2)})`,
  ]);
}
printTable(
  `Outbound to a STARTTLS discard sink on 127.0.0.1 (ECDSA P-256), ${MESSAGES} messages of 10 KB per run, at most 20 connections, median of ${ROUNDS} rounds`,
  ['outbound deliveries/s', 'mxgate', 'Postfix smtp', 'ratio', 'ratio range', 'CPU ms/msg mxgate/Postfix (ratio)'],
  rows,
);
