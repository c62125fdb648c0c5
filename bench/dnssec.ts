/**
 * DNSSEC in the engine: a validated TLSA lookup (the engine's validator, asking unbound with CD set)
 * cold (empty cache: TLSA, DNSKEY and DS down from the trust anchor, all validated) and warm (the
 * engine's DNS cache holds the answers; the signatures are checked again), against unbound's own
 * answer time for the same question (warm: from its cache). Zones from the DNSSEC lab: a signed
 * parent delegating to an ECDSA P-256 zone with NSEC3 and an RSA-2048 zone with NSEC.
 * Printed, nothing asserted.
 */
import { performance } from 'node:perf_hooks';
import { DnsCache } from '../src/engine/dns/cache.js';
import { DnsClient } from '../src/engine/dns/client.js';
import { parseTrustAnchor } from '../src/store/network/trustAnchors.js';
import { startDnssecHierarchy } from '../test/dnssec-hierarchy.js';
import { median } from './report.js';

const TLSA = '_25._tcp.mx IN TLSA 3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6';
const lab = await startDnssecHierarchy('lab', [], [
  { name: 'ecdsa.lab', algorithm: 'ECDSAP256SHA256', records: ['mx IN A 127.0.0.1', TLSA], nsec3: { iterations: 0 } },
  { name: 'rsa.lab', algorithm: 'RSASHA256', records: ['mx IN A 127.0.0.1', TLSA] },
]);
const anchors = [parseTrustAnchor(lab.anchor)];
const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)]!;

async function time(n: number, run: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await run();
    out.push(performance.now() - t0);
  }
  return out;
}

try {
  const unbound = new DnsClient([lab.resolver], 3000);
  console.log('validated TLSA lookup, milliseconds (median / p99 of 200)');
  for (const zone of ['ecdsa.lab', 'rsa.lab']) {
    const name = `_25._tcp.mx.${zone}`;
    const cold = await time(200, async () => {
      const v = await new DnsClient([lab.resolver], 3000, new DnsCache(), anchors).lookup(name, 'TLSA');
      if (v.security !== 'secure') throw new Error(`${name}: ${v.security} ${v.reason}`);
    });
    const client = new DnsClient([lab.resolver], 3000, new DnsCache(), anchors);
    await client.lookup(name, 'TLSA');
    const warm = await time(200, () => client.lookup(name, 'TLSA'));
    const theirs = await time(200, () => unbound.query(name, 'TLSA'));
    console.log(`  ${zone.padEnd(10)} mxgate cold ${median(cold).toFixed(2)} / ${p99(cold).toFixed(2)}   mxgate warm ${median(warm).toFixed(3)} / ${p99(warm).toFixed(3)}   unbound (its cache) ${median(theirs).toFixed(2)} / ${p99(theirs).toFixed(2)}`);
  }
} finally {
  await lab.close();
}
