import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { keyTag } from '../src/store/network/trustAnchors.js';
import { serveZones } from './dnssec-lab.js';
import { freePort } from './helpers.js';
import { tool } from './system-tools.js';

/** A zone delegated from the lab's parent zone, and how it is signed. */
export interface ChildZone {
  name: string;
  /** ldns-keygen algorithm name; absent: unsigned (no DS either). */
  algorithm?: string;
  /** Zone-file lines relative to the origin. */
  records: string[];
  /** NSEC3 (ldns-signzone -n) with these iterations, opt-out or not; else NSEC. */
  nsec3?: { iterations: number; optOut?: boolean };
  /** The DS in the parent: the child's KSK (default), or a DS of another key. */
  ds?: 'match' | 'mismatch';
  /** Signature validity (ldns-signzone -i / -e, YYYYMMDD). */
  inception?: string;
  expiration?: string;
  /** Change the signed zone text after signing (a bogus zone). */
  tamper?: (signed: string) => string;
  /**
   * A KeyTrap zone (CVE-2023-50387; Ed25519 only): `keys` more DNSKEYs with the ZSK's key tag,
   * signed into the DNSKEY RRset by the KSK, and `signatures` bogus RRSIGs naming that tag added
   * to every other RRset, so that each RRSIG "might" verify with each of those keys.
   */
  keyTrap?: { keys: number; signatures: number };
}

export interface DnssecHierarchy {
  /** Parent zone, signed with ECDSA P-256 and NSEC; its KSK's DS is the only trust anchor. */
  parent: string;
  /** The trust anchor as a DS line ("lab. IN DS …"). */
  anchor: string;
  /** unbound, validating with that anchor. */
  resolver: { host: string; port: number };
  /** NSD, authoritative for every zone. */
  nsd: { host: string; port: number };
  dir: string;
  close(): Promise<void>;
}

const run = (cwd: string, cmd: string, args: string[]) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const soa = (zone: string) => [`$ORIGIN ${zone}.`, '$TTL 300', `@ IN SOA ns.${zone}. hostmaster.${zone}. 1 3600 600 86400 300`, `@ IN NS ns.${zone}.`, 'ns IN A 127.0.0.1'];

/** DNSKEY lines (relative owner "@") with the key tag of the Ed25519 key in `keyFile`: random keys whose last two octets fix the checksum. */
function collidingKeys(keyFile: string, count: number): string[] {
  const [flags, , algorithm, b64] = keyFile.replace(/;.*/, '').trim().split(/\s+/).slice(-4);
  if (algorithm !== '15') throw new Error('keyTrap needs an ED25519 zone');
  const tag = keyTag({ flags: Number(flags), algorithm: 15, key: Buffer.from(b64!, 'base64') });
  const lines: string[] = [];
  while (lines.length < count) {
    const key = randomBytes(32);
    key.writeUInt16BE(0, 30);
    key.writeUInt16BE((tag - keyTag({ flags: 256, algorithm: 15, key }) + 0x10000) % 0x10000, 30);
    if (keyTag({ flags: 256, algorithm: 15, key }) === tag) lines.push(`@ IN DNSKEY 256 3 15 ${key.toString('base64')}`);
  }
  return lines;
}

/** Each RRSIG by the zone's ZSK (every RRset but DNSKEY) followed by `count` copies with random signatures. */
function withBogusSignatures(signed: string, count: number): string {
  return signed
    .split('\n')
    .flatMap((line) => {
      const f = line.split(/\s+/);
      if (f[3] !== 'RRSIG' || f[4] === 'DNSKEY') return [line];
      const copies = Array.from({ length: count }, () => [...f.slice(0, -1), randomBytes(64).toString('base64')].join('\t'));
      return [...copies, line];
    })
    .join('\n');
}

/**
 * A signed parent zone with child zones delegated from it, each signed its own way (algorithm,
 * NSEC or NSEC3, validity, a DS that does not match, a record changed after signing), from Debian's
 * ldns tools; served by NSD and validated by unbound with the parent's DS as the only trust anchor.
 */
export async function startDnssecHierarchy(parent: string, parentRecords: string[], children: ChildZone[]): Promise<DnssecHierarchy> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mxg-dnssec-tree-'));
  const nsdPort = await freePort();
  const unboundPort = await freePort();
  const delegations: string[] = [];
  const zoneFiles: { name: string; file: string }[] = [];
  const keygen = (zone: string, alg: string, ksk: boolean) => run(dir, tool('ldns-keygen'), ['-a', alg, ...(ksk ? ['-k'] : []), `${zone}.`]).trim();
  const sign = (zone: string, file: string, keys: string[], options: string[]) => run(dir, tool('ldns-signzone'), [...options, '-f', `${file}.signed`, file, ...keys]);

  for (const c of children) {
    const file = `${c.name}.zone`;
    writeFileSync(path.join(dir, file), [...soa(c.name), ...c.records, ''].join('\n'));
    const rel = c.name.slice(0, -(parent.length + 1));
    delegations.push(`${rel} IN NS ns.${rel}`, `ns.${rel} IN A 127.0.0.1`);
    if (!c.algorithm) {
      zoneFiles.push({ name: c.name, file });
      continue;
    }
    const ksk = keygen(c.name, c.algorithm, true);
    const zsk = keygen(c.name, c.algorithm, false);
    const options = [
      ...(c.nsec3 ? ['-n', '-t', String(c.nsec3.iterations), ...(c.nsec3.iterations ? ['-s', 'ab12'] : []), ...(c.nsec3.optOut ? ['-p'] : [])] : []),
      ...(c.inception ? ['-i', c.inception] : []),
      ...(c.expiration ? ['-e', c.expiration] : []),
    ];
    if (c.keyTrap) appendFileSync(path.join(dir, file), collidingKeys(readFileSync(path.join(dir, `${zsk}.key`), 'utf8'), c.keyTrap.keys).join('\n') + '\n');
    sign(c.name, file, [zsk, ksk], options);
    if (c.keyTrap) {
      const signed = path.join(dir, `${file}.signed`);
      writeFileSync(signed, withBogusSignatures(readFileSync(signed, 'utf8'), c.keyTrap.signatures));
    }
    if (c.tamper) writeFileSync(path.join(dir, `${file}.signed`), c.tamper(readFileSync(path.join(dir, `${file}.signed`), 'utf8')));
    const dsOf = c.ds === 'mismatch' ? keygen(c.name, c.algorithm, true) : ksk;
    if (c.ds === 'mismatch') run(dir, tool('ldns-key2ds'), ['-n', '-2', `${dsOf}.key`]);
    const ds = readFileSync(path.join(dir, `${dsOf}.ds`), 'utf8').trim().split(/\s+/);
    delegations.push(`${rel} IN DS ${ds.slice(-4).join(' ')}`);
    zoneFiles.push({ name: c.name, file: `${file}.signed` });
  }

  const parentFile = `${parent}.zone`;
  writeFileSync(path.join(dir, parentFile), [...soa(parent), ...parentRecords, ...delegations, ''].join('\n'));
  const pksk = keygen(parent, 'ECDSAP256SHA256', true);
  const pzsk = keygen(parent, 'ECDSAP256SHA256', false);
  sign(parent, parentFile, [pzsk, pksk], []);
  zoneFiles.push({ name: parent, file: `${parentFile}.signed` });
  const anchor = readFileSync(path.join(dir, `${pksk}.ds`), 'utf8').trim();
  writeFileSync(path.join(dir, 'anchor.ds'), `${anchor}\n`);

  const servers = await serveZones(dir, nsdPort, unboundPort, zoneFiles, [`  trust-anchor-file: "${dir}/anchor.ds"`], [parent]);
  return {
    parent,
    anchor,
    resolver: { host: '127.0.0.1', port: unboundPort },
    nsd: { host: '127.0.0.1', port: nsdPort },
    dir,
    close: servers.close,
  };
}
