/**
 * Outbound, side by side (printed, nothing asserted): mxgate's delivery and Postfix's smtp client
 * relaying the same number of queued messages to the same kind of sink (smtp-server with STARTTLS),
 * TLS required on the way out, with a new connection per message and with connection reuse.
 * Each side first takes the messages in while its way out is closed (mxgate: a route to a port
 * that refuses; Postfix: defer_transports), then the way is opened and the clock runs until the
 * sink has them all. Needs root and Debian's postfix, as the interop suite does.
 *
 *   node --import tsx bench/outbound-vs-postfix.ts [MESSAGES]
 */
import { applianceWithListener, cleanup, freePort, mxgate } from '../test/helpers.js';
import { opensslChain } from '../test/pki-fixtures.js';
import { startPostfix } from '../test/postfix.js';
import { smtpSink } from '../test/sink.js';
import { load } from './load.js';

const MESSAGES = Number(process.argv[2] ?? 1000);
const chain = opensslChain();
const tlsSink = () => smtpSink({ tls: { key: chain.leafKey, cert: chain.leaf + chain.intermediate } });

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

async function mxgateRun(messagesPerConnection: number): Promise<{ count: number; seconds: number }> {
  const { home, port } = await applianceWithListener();
  try {
    const sh = async (...lines: string[]) => {
      const r = await mxgate(home, lines.flatMap((l) => ['-c', l]));
      if (r.code !== 0) throw new Error(r.stdout + r.stderr);
      return r.stdout;
    };
    await sh(
      `smtproutes new example.net 127.0.0.1:${await freePort()}`,
      `destconfig new example.net --tls required --max-concurrency 20 --messages-per-connection ${messagesPerConnection} --retry-initial 3600 --retry-max 3600`,
      'listenerconfig edit InboundMail hostaccess policy ACCEPTED --max-concurrency 1000',
      'commit "closed"',
    );
    const queued = async () => Number(/(\d+) message\(s\) queued/.exec((await mxgate(home, ['engine', 'status'])).stdout)?.[1] ?? 0);
    const count = await fill(port, queued);
    const sink = await tlsSink();
    try {
      await sh(`smtproutes new example.net 127.0.0.1:${sink.port}`, 'commit "open"', 'deliverynow');
      const seconds = await until(() => sink.received.length >= count);
      return { count, seconds };
    } finally {
      await sink.close();
    }
  } finally {
    await cleanup(home);
  }
}

async function postfixRun(reuse: boolean): Promise<{ count: number; seconds: number }> {
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
    await postfix.command('postconf', '-e', 'defer_transports =');
    await postfix.command('postfix', 'reload');
    await postfix.command('postqueue', '-f');
    const seconds = await until(() => sink.received.length >= count);
    return { count, seconds };
  } finally {
    await postfix.stop();
    await sink.close();
  }
}

const rows: string[][] = [];
for (const [label, perConnection] of [
  ['TLS required, new connection per message', 1],
  ['TLS required, connections reused (up to 100 messages)', 100],
] as const) {
  const m = await mxgateRun(perConnection);
  const p = await postfixRun(perConnection > 1);
  const [mr, pr] = [m.count / m.seconds, p.count / p.seconds];
  rows.push([label, `${mr.toFixed(1)} (${m.count} in ${m.seconds.toFixed(1)} s)`, `${pr.toFixed(1)} (${p.count} in ${p.seconds.toFixed(1)} s)`, (mr / pr).toFixed(2)]);
}
const header = ['outbound deliveries/s', 'mxgate', 'Postfix smtp', 'ratio'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
console.log(`Outbound to a STARTTLS sink (smtp-server) on 127.0.0.1, 10 KB messages, at most 20 connections`);
console.log(line(header));
for (const r of rows) console.log(line(r));
