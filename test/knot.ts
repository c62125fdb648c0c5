import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DnsClient } from '../src/engine/dns/client.js';
import { freePort } from './helpers.js';
import { tool } from './system-tools.js';

export interface KnotPrimary {
  host: string;
  port: number;
  dir: string;
  /** signed: each zone's key as a DNSKEY line (flags 257), the trust anchor a validator needs. */
  anchors: string[];
  close(): Promise<void>;
}

/**
 * Knot DNS (Debian `knot`) as a zone's primary on loopback: each zone takes RFC 2136 updates signed
 * with the given TSIG key (hmac-sha256) and from no one else. Unsigned zones; the records given are
 * relative to the zone's origin.
 */
export async function startKnot(zones: { name: string; records: string[] }[], key: { name: string; secret: Buffer }, options: { signed?: boolean } = {}): Promise<KnotPrimary> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mxg-knot-'));
  const port = await freePort();
  for (const z of zones) {
    writeFileSync(
      path.join(dir, `${z.name}.zone`),
      [`$ORIGIN ${z.name}.`, '$TTL 300', `@ IN SOA ns.${z.name}. hostmaster.${z.name}. 1 3600 600 86400 300`, `@ IN NS ns.${z.name}.`, 'ns IN A 127.0.0.1', ...z.records, ''].join('\n'),
    );
  }
  writeFileSync(
    path.join(dir, 'knot.conf'),
    [
      'server:',
      `  listen: 127.0.0.1@${port}`,
      `  rundir: "${dir}"`,
      'database:',
      `  storage: "${dir}"`,
      'control:',
      `  listen: "${dir}/knot.sock"`,
      'log:',
      '  - target: stderr',
      '    any: info',
      'key:',
      `  - id: ${key.name}`,
      '    algorithm: hmac-sha256',
      `    secret: ${key.secret.toString('base64')}`,
      'acl:',
      '  - id: update',
      `    key: ${key.name}`,
      '    action: update',
      // signed: Knot signs the zones itself (one ECDSA P-256 CSK, short TTLs) and re-signs every update.
      ...(options.signed
        ? ['policy:', '  - id: lab', '    algorithm: ecdsap256sha256', '    single-type-signing: on', '    dnskey-ttl: 60', '    zone-max-ttl: 300', '    propagation-delay: 0']
        : []),
      'template:',
      '  - id: default',
      `    storage: "${dir}"`,
      '    zonefile-sync: -1',
      ...(options.signed ? ['    dnssec-signing: on', '    dnssec-policy: lab'] : []),
      'zone:',
      ...zones.flatMap((z) => [`  - domain: ${z.name}`, `    file: ${z.name}.zone`, '    acl: update']),
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(tool('knotd'), ['-c', path.join(dir, 'knot.conf')], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const client = new DnsClient([{ host: '127.0.0.1', port }], 500);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const soa = await client.query(zones[0]!.name, 'SOA').catch(() => undefined);
    if (soa?.rcode === 'NOERROR' && soa.answers.length) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`knotd did not start: ${stderr.trim().split('\n').slice(-5).join(' | ')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const anchors: string[] = [];
  for (const z of options.signed ? zones : []) {
    const keys = (await client.query(z.name, 'DNSKEY')).answers as unknown as { data: { flags: number; algorithm: number; key: Buffer } }[];
    for (const k of keys.filter((x) => x.data.flags === 257)) anchors.push(`${z.name}. IN DNSKEY 257 3 ${k.data.algorithm} ${Buffer.from(k.data.key).toString('base64')}`);
  }
  return {
    host: '127.0.0.1',
    port,
    dir,
    anchors,
    async close() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
