/**
 * Inbound throughput over STARTTLS, printed for comparison (nothing is asserted):
 * messages/s with a new connection per message and over reused connections, handshakes/s,
 * and latency percentiles. One engine, one listener with TLS required, all on 127.0.0.1.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import nodemailer from 'nodemailer';
import { applianceWithListener, cleanup, useChainCertificate } from '../test/helpers.js';
import { opensslChain } from '../test/pki-fixtures.js';

const chain = opensslChain();
const { home, port } = await applianceWithListener();

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const fmt = (xs: number[]) => `p50 ${pct(xs, 50).toFixed(1)} ms, p99 ${pct(xs, 99).toFixed(1)} ms`;

async function perMessage(count: number, concurrency: number) {
  const latencies: number[] = [];
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next += 1;
        const transport = nodemailer.createTransport({ host: '127.0.0.1', port, requireTLS: true, tls: { ca: chain.root, servername: 'mx.test.example' } });
        const t = performance.now();
        await transport.sendMail({ from: 'bench@example.org', to: 'user@example.net', subject: 'bench', text: 'x'.repeat(2000) });
        latencies.push(performance.now() - t);
        transport.close();
      }
    }),
  );
  return { rate: count / ((performance.now() - t0) / 1000), latencies };
}

async function reused(count: number, connections: number) {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    pool: true,
    maxConnections: connections,
    maxMessages: Infinity,
    requireTLS: true,
    tls: { ca: chain.root, servername: 'mx.test.example' },
  });
  const latencies: number[] = [];
  const t0 = performance.now();
  let next = 0;
  // One message in flight per connection, so latency is service time, not time spent waiting.
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next < count) {
        next += 1;
        const t = performance.now();
        await transport.sendMail({ from: 'bench@example.org', to: 'user@example.net', subject: 'bench', text: 'x'.repeat(2000) });
        latencies.push(performance.now() - t);
      }
    }),
  );
  transport.close();
  return { rate: count / ((performance.now() - t0) / 1000), latencies };
}

async function handshakes(count: number) {
  const latencies: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    let t = performance.now();
    await new Promise<void>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      let stage = 0;
      let buf = '';
      s.on('data', (d) => {
        buf += d.toString();
        if (stage === 0 && /^220 /m.test(buf)) {
          stage = 1;
          buf = '';
          s.write('EHLO bench\r\n');
        } else if (stage === 1 && /^250 /m.test(buf)) {
          stage = 2;
          buf = '';
          s.write('STARTTLS\r\n');
        } else if (stage === 2 && /^220 /m.test(buf)) {
          stage = 3;
          t = performance.now(); // the handshake alone, from the 220 to STARTTLS
          s.removeAllListeners('data');
          const secure = tls.connect({ socket: s, ca: chain.root, servername: 'mx.test.example' }, () => {
            latencies.push(performance.now() - t);
            secure.destroy();
            resolve();
          });
          secure.on('error', reject);
        }
      });
      s.on('error', reject);
    });
  }
  return { rate: count / ((performance.now() - t0) / 1000), latencies };
}

try {
  await useChainCertificate(home, chain, 'listenerconfig edit InboundMail hostaccess default --tls required --max-concurrency 100 --max-messages 100000');
  await perMessage(20, 4); // warm-up
  const a = await perMessage(400, 8);
  console.log(`STARTTLS, new connection per message (8 clients): ${a.rate.toFixed(0)} messages/s, ${fmt(a.latencies)}`);
  const b = await reused(2000, 8);
  console.log(`STARTTLS, 8 reused connections: ${b.rate.toFixed(0)} messages/s, ${fmt(b.latencies)}`);
  const h = await handshakes(300);
  console.log(`STARTTLS sessions one after another (TLS 1.3, RSA 2048): ${h.rate.toFixed(1)} sessions/s; the TLS handshake itself: ${fmt(h.latencies)}`);
  console.log('(each new connection waits 100 ms before the 220 greeting: smtp-server\'s early-talker check)');
} finally {
  await cleanup(home);
}
