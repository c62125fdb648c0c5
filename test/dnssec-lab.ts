import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DnsClient } from '../src/engine/dns/client.js';
import { freePort } from './helpers.js';
import { tool } from './system-tools.js';

/** One zone of the lab: its records (zone-file lines relative to the origin) and how it is served. */
export interface LabZone {
  name: string;
  records: string[];
  /** signed: ldns-signzone with a private trust anchor; bogus: signed, then a TLSA record altered. */
  kind: 'signed' | 'unsigned' | 'bogus';
}

export interface DnssecLab {
  /** The validating resolver (unbound) on 127.0.0.1. */
  resolver: { host: string; port: number };
  /** NSD, authoritative for the zones and not validating (for the engine's own validator). */
  nsd: { host: string; port: number };
  /** The signed zones' KSKs as DNSKEY lines (the trust anchors unbound uses). */
  anchors: string[];
  dir: string;
  close(): Promise<void>;
}

const run = (cwd: string, cmd: string, args: string[]) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/**
 * Real DNSSEC on loopback, from Debian's tools: zones signed by ldns-signzone, served by NSD, and
 * validated by unbound with the zones' KSKs as its trust anchors (no root, no network). The bogus
 * zone has a TLSA record changed after signing, so unbound answers SERVFAIL for it.
 */
export async function startDnssecLab(zones: LabZone[], options: { port53Address?: string } = {}): Promise<DnssecLab> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mxg-dnssec-'));
  const nsdPort = await freePort();
  const unboundPort = await freePort();
  const anchors: string[] = [];
  for (const z of zones) {
    const file = `${z.name}.zone`;
    const soa = [`$ORIGIN ${z.name}.`, '$TTL 300', `@ IN SOA ns.${z.name}. hostmaster.${z.name}. 1 3600 600 86400 300`, `@ IN NS ns.${z.name}.`, 'ns IN A 127.0.0.1'];
    writeFileSync(path.join(dir, file), [...soa, ...z.records, ''].join('\n'));
    if (z.kind === 'unsigned') continue;
    const ksk = run(dir, tool('ldns-keygen'), ['-a', 'ECDSAP256SHA256', '-k', `${z.name}.`]).trim();
    const zsk = run(dir, tool('ldns-keygen'), ['-a', 'ECDSAP256SHA256', `${z.name}.`]).trim();
    run(dir, tool('ldns-signzone'), ['-n', '-f', `${file}.signed`, file, zsk, ksk]);
    anchors.push(readFileSync(path.join(dir, `${ksk}.key`), 'utf8').replace(/;.*$/m, '').trim());
    if (z.kind === 'bogus') {
      // Change the association data of every TLSA record after signing: the signature no longer fits.
      const signed = readFileSync(path.join(dir, `${file}.signed`), 'utf8');
      writeFileSync(path.join(dir, `${file}.signed`), signed.replace(/(\tTLSA\t\d+ \d+ \d+ )([0-9a-f])/gi, (_m, head: string, c: string) => head + (c === '0' ? '1' : '0')));
    }
  }
  writeFileSync(path.join(dir, 'anchors.key'), anchors.join('\n') + '\n');
  const servers = await serveZones(
    dir,
    nsdPort,
    unboundPort,
    zones.map((z) => ({ name: z.name, file: `${z.name}.zone${z.kind === 'unsigned' ? '' : '.signed'}` })),
    [
      // For tools that take their resolver from resolv.conf (port 53 only), e.g. posttls-finger.
      ...(options.port53Address ? [`  interface: ${options.port53Address}@53`] : []),
      `  trust-anchor-file: "${dir}/anchors.key"`,
      '  val-log-level: 2',
      ...zones.filter((z) => z.kind === 'unsigned').map((z) => `  domain-insecure: "${z.name}"`),
    ],
    zones.map((z) => z.name),
  );
  return {
    resolver: { host: '127.0.0.1', port: unboundPort },
    nsd: { host: '127.0.0.1', port: nsdPort },
    anchors,
    dir,
    close: servers.close,
  };
}

/**
 * NSD serving `zones` (files in `dir`) on 127.0.0.1:`nsdPort`, and unbound validating on
 * 127.0.0.1:`unboundPort` with stub zones `stubs` pointing at it; `unboundLines` add its trust
 * anchors and the like. Resolves once unbound answers for the first stub.
 */
export async function serveZones(
  dir: string,
  nsdPort: number,
  unboundPort: number,
  zones: { name: string; file: string }[],
  unboundLines: string[],
  stubs: string[],
  /** Another authoritative server (HOST@PORT) for the stubs: then NSD is not started. */
  stubAddr?: string,
): Promise<{ close(): Promise<void> }> {
  writeFileSync(
    path.join(dir, 'nsd.conf'),
    [
      'server:',
      `  ip-address: 127.0.0.1@${nsdPort}`,
      `  port: ${nsdPort}`,
      `  zonesdir: "${dir}"`,
      `  pidfile: "${dir}/nsd.pid"`,
      `  zonelistfile: "${dir}/zone.list"`,
      `  xfrdfile: "${dir}/xfrd.state"`,
      `  xfrdir: "${dir}"`,
      '  database: ""',
      '  username: ""',
      '  verbosity: 1',
      'remote-control:',
      '  control-enable: no',
      ...zones.flatMap((z) => ['zone:', `  name: "${z.name}"`, `  zonefile: "${z.file}"`]),
      '',
    ].join('\n'),
  );
  writeFileSync(
    path.join(dir, 'unbound.conf'),
    [
      'server:',
      `  interface: 127.0.0.1@${unboundPort}`,
      `  port: ${unboundPort}`,
      '  do-daemonize: no',
      '  username: ""',
      '  chroot: ""',
      `  directory: "${dir}"`,
      `  pidfile: "${dir}/unbound.pid"`,
      '  use-syslog: no',
      `  logfile: "${dir}/unbound.log"`,
      '  access-control: 127.0.0.0/8 allow',
      '  do-not-query-localhost: no',
      '  module-config: "validator iterator"',
      '  harden-dnssec-stripped: yes',
      '  cache-max-ttl: 5',
      ...unboundLines,
      ...stubs.map((z) => `  local-zone: "${z}." nodefault`),
      'remote-control:',
      '  control-enable: no',
      ...stubs.flatMap((z) => ['stub-zone:', `  name: "${z}"`, `  stub-addr: ${stubAddr ?? `127.0.0.1@${nsdPort}`}`]),
      '',
    ].join('\n'),
  );
  const children: ChildProcess[] = [];
  const start = (cmd: string, args: string[]) => {
    const child = spawn(cmd, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('exit', (code) => {
      if (code) writeFileSync(path.join(dir, `${path.basename(cmd)}.exit`), `${code}\n${stderr}`);
    });
    children.push(child);
  };
  if (!stubAddr) start(tool('nsd'), ['-d', '-c', path.join(dir, 'nsd.conf')]);
  start(tool('unbound'), ['-d', '-c', path.join(dir, 'unbound.conf')]);
  const client = new DnsClient([{ host: '127.0.0.1', port: unboundPort }], 1000);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const soa = await client.lookup(stubs[0]!, 'SOA');
    if (soa.rcode === 'NOERROR') break;
    if (Date.now() > deadline) {
      const why = readdirSync(dir).filter((f) => f.endsWith('.exit')).map((f) => readFileSync(path.join(dir, f), 'utf8'));
      throw new Error(`the DNS lab did not start (${soa.rcode}): ${why.join('; ')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    async close() {
      for (const c of children) c.kill('SIGTERM');
      await Promise.all(children.map((c) => (c.exitCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));
    },
  };
}

/**
 * A resolver that strips DNSSEC: it forwards each query to `upstreamPort` on 127.0.0.1 and removes
 * RRSIG, NSEC and NSEC3 records from the answer, as some home routers and middleboxes do.
 */
export async function strippingDnsProxy(upstreamPort: number): Promise<{ port: number; close(): Promise<void> }> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, client) => {
    const upstream = dgram.createSocket('udp4');
    upstream.on('message', (reply) => {
      upstream.close();
      const p = dnsPacket.decode(reply);
      const keep = (rrs?: dnsPacket.Answer[]) => (rrs ?? []).filter((r) => !['RRSIG', 'NSEC', 'NSEC3'].includes(r.type));
      socket.send(dnsPacket.encode({ ...p, answers: keep(p.answers), authorities: keep(p.authorities) }), client.port, client.address);
    });
    upstream.send(msg, upstreamPort, '127.0.0.1');
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, close: () => new Promise((r) => socket.close(() => r())) };
}
