import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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
    sign(c.name, file, [zsk, ksk], options);
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
