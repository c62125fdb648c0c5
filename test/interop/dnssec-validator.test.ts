import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import type dnsPacket from 'dns-packet';
import { DnsClient } from '../../src/engine/dns/client.js';
import { parseTrustAnchor } from '../../src/store/network/trustAnchors.js';
import type { Rr } from '../../src/engine/dns/dnssec/records.js';
import { Validator } from '../../src/engine/dns/dnssec/validator.js';
import { type ChildZone, type DnssecHierarchy, startDnssecHierarchy } from '../dnssec-hierarchy.js';
import { tool } from '../system-tools.js';

/**
 * The engine's own DNSSEC validator against unbound and BIND's delv: one signed parent zone (the
 * only trust anchor) delegating to zones signed with each supported algorithm, NSEC and NSEC3
 * (0, 10 and 200 iterations, opt-out), wildcards, an unsigned delegation, a CNAME from a signed into
 * an unsigned zone, a DS that matches no key, expired and not-yet-valid signatures and a record
 * changed after signing. For every name and type, mxgate's verdict (secure / insecure / bogus, and
 * NXDOMAIN vs NOERROR) must equal both of theirs, and unbound's where they differ. The table is printed.
 */
const exec = promisify(execFile);
const TLSA = '_25._tcp.mx IN TLSA 3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6';
const standard = ['mx IN A 127.0.0.1', TLSA, '*.wild IN A 127.0.0.2', 'deep.ent IN A 127.0.0.3'];
const children: ChildZone[] = [
  { name: 'alg8.lab', algorithm: 'RSASHA256', records: standard },
  { name: 'alg10.lab', algorithm: 'RSASHA512', records: standard, nsec3: { iterations: 0 } },
  { name: 'alg13.lab', algorithm: 'ECDSAP256SHA256', records: standard, nsec3: { iterations: 10 } },
  { name: 'alg14.lab', algorithm: 'ECDSAP384SHA384', records: standard },
  { name: 'alg15.lab', algorithm: 'ED25519', records: standard, nsec3: { iterations: 0, optOut: true } },
  { name: 'alg16.lab', algorithm: 'ED448', records: standard },
  { name: 'iter200.lab', algorithm: 'ECDSAP256SHA256', records: standard, nsec3: { iterations: 200 } },
  { name: 'plain.lab', records: standard },
  { name: 'badds.lab', algorithm: 'ECDSAP256SHA256', records: standard, ds: 'mismatch' },
  { name: 'expired.lab', algorithm: 'ECDSAP256SHA256', records: standard, inception: '20200101', expiration: '20200201' },
  { name: 'future.lab', algorithm: 'ECDSAP256SHA256', records: standard, inception: '20350101', expiration: '20360101' },
  { name: 'tampered.lab', algorithm: 'ECDSAP256SHA256', records: standard, tamper: (z) => z.replace(/(mx\.tampered\.lab\.\t\d+\tIN\tA\t)127\.0\.0\.1/, '$1127.0.0.66') },
];
const questions: [string, dnsPacket.RecordType][] = [
  ['www.lab', 'A'],
  ['www.lab', 'AAAA'],
  ['nx.lab', 'A'],
  ['alias.lab', 'A'],
  ...children.flatMap((c): [string, dnsPacket.RecordType][] => [
    [`mx.${c.name}`, 'A'],
    [`_25._tcp.mx.${c.name}`, 'TLSA'],
    [`mx.${c.name}`, 'AAAA'],
    [`nx.${c.name}`, 'TLSA'],
    [`a.wild.${c.name}`, 'A'],
    [`a.wild.${c.name}`, 'TXT'],
    [`ent.${c.name}`, 'A'],
  ]),
];

let lab: DnssecHierarchy;
let anchorFile: string;

before(async () => {
  lab = await startDnssecHierarchy('lab', ['www IN A 127.0.0.9', 'alias IN CNAME mx.plain.lab.'], children);
  const [, , , tag, alg, digestType, ...digest] = lab.anchor.split(/\s+/);
  anchorFile = path.join(lab.dir, 'delv-anchor.conf');
  await writeFile(anchorFile, `trust-anchors { "lab." static-ds ${tag} ${alg} ${digestType} "${digest.join('')}"; };\n`);
});
after(async () => {
  await lab?.close();
});

type Verdict = string; // "secure NOERROR", "insecure NXDOMAIN", "bogus"

async function unboundVerdict(client: DnsClient, name: string, type: dnsPacket.RecordType): Promise<Verdict> {
  const r = await client.query(name, type);
  if (r.rcode === 'SERVFAIL') return 'bogus';
  return `${r.authentic ? 'secure' : 'insecure'} ${r.rcode}`;
}

async function delvVerdict(name: string, type: string): Promise<Verdict> {
  const args = ['@127.0.0.1', '-p', String(lab.resolver.port), '-a', anchorFile, '+root=lab', name, type];
  const out = await exec(tool('delv'), args, { timeout: 20_000 }).then(
    (r) => r.stdout + r.stderr,
    (e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`,
  );
  // "; fully validated" per RRset, "; unsigned answer" for an unsigned one (the weakest counts);
  // negative answers come as "resolution failed: ncache nxdomain|nxrrset" and then their status.
  const rcode = /NXDOMAIN/.test(out) ? 'NXDOMAIN' : 'NOERROR';
  if (/resolution failed/.test(out) && !/resolution failed: ncache (nxdomain|nxrrset)/.test(out)) return 'bogus';
  if (/unsigned answer/.test(out)) return `insecure ${rcode}`;
  if (/fully validated/.test(out)) return `secure ${rcode}`;
  return `unknown: ${out.trim().split('\n').slice(0, 3).join(' | ')}`;
}

test('for every name and type of the lab, mxgate\'s verdict equals unbound\'s and delv\'s', async () => {
  const client = new DnsClient([lab.resolver], 3000);
  const validator = new Validator([parseTrustAnchor(lab.anchor)], async (name, type) => {
    const p = await client.packet(name, type as dnsPacket.RecordType);
    return { rcode: p.rcode, answers: p.answers as unknown as Rr[], authorities: p.authorities as unknown as Rr[] };
  });
  const rows: string[][] = [];
  const disagreements: string[] = [];
  for (const [name, type] of questions) {
    const ours = await validator.lookup(name, type);
    const mine = ours.security === 'bogus' || ours.security === 'indeterminate' ? ours.security : `${ours.security} ${ours.rcode}`;
    const [unbound, delv] = [await unboundVerdict(client, name, type), await delvVerdict(name, type)];
    rows.push([`${name} ${type}`, mine, unbound, delv, ours.reason ?? '']);
    // Where unbound and delv differ (NXDOMAIN and NODATA under an NSEC3 opt-out span: unbound says
    // insecure, delv secure), mxgate follows unbound, the more careful reading of RFC 5155 §7.2.1.
    if (mine !== unbound || (unbound === delv && mine !== delv)) disagreements.push(`${name} ${type}: mxgate ${mine} (${ours.reason ?? ours.chain.join('; ')}), unbound ${unbound}, delv ${delv}`);
  }
  const width = (i: number) => Math.max(...rows.map((r) => r[i]!.length), 8);
  console.log(['question', 'mxgate', 'unbound', 'delv', 'why (mxgate)'].map((h, i) => h.padEnd(width(i))).join('  '));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(width(i))).join('  '));
  assert.deepEqual(disagreements, []);
});
