import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { type Bucket, DomainTlsStatistics, MAX_DOMAINS, MAX_MX_HOSTS, MORE_HOSTS, OTHER, type SharedTlsStatistics, spanSince } from '../../src/engine/delivery/domainTlsStatistics.js';
import { failureReason } from '../../src/engine/delivery/tlsOutcomes.js';
import { MIN_DELIVERIES, mtaStsCandidates, mtaStsSuggestion, tlsSuggestions } from '../../src/engine/delivery/tlsSuggestions.js';
import { InboundTlsStatistics, NULL_SENDER } from '../../src/engine/listener/inboundTlsStatistics.js';
import { defaultConfig } from '../../src/store/schema.js';

const DAY = 86_400_000;

test('per-domain counts add up over the days asked for, survive a restart, and forget what is older than 31 days', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mxg-stats-'));
  try {
    const file = path.join(dir, 'stats.json');
    let now = Date.parse('2026-12-01T12:00:00Z');
    const stats = new DomainTlsStatistics(file, () => now);
    await stats.open();
    stats.message('Partner.Example', 'verified');
    stats.message('partner.example', 'tls', true);
    stats.failure('partner.example', 'certificate expired');
    now += 2 * DAY;
    stats.message('partner.example', 'verified');
    stats.message('other.example', 'clear');
    await stats.close();
    assert.equal((await stat(file)).mode & 0o777, 0o600);

    const again = new DomainTlsStatistics(file, () => now);
    await again.open();
    const all = again.query({ days: 30 });
    assert.deepEqual(all.map((r) => [r.domain, r.messages.verified, r.messages.clear]), [['partner.example', 2, 0], ['other.example', 0, 1]]);
    assert.deepEqual(all[0]!.failures, { 'certificate expired': 1 });
    assert.equal(all[0]!.verifiable, 1);
    assert.equal(again.query({ days: 1 }, 'PARTNER.example')[0]!.messages.verified, 1, 'today only');
    now += 40 * DAY;
    again.message('late.example', 'tls');
    assert.deepEqual(again.query({ days: 31 }).map((r) => r.domain), ['late.example'], 'older days are gone');
    await again.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the number of domains a day is bounded: the rest is counted as (other); a broken file starts afresh and says so', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mxg-stats-'));
  try {
    const file = path.join(dir, 'stats.json');
    const stats = new DomainTlsStatistics(file);
    await stats.open();
    for (let i = 0; i < MAX_DOMAINS + 50; i++) stats.message(`d${i}.example`, 'tls');
    const rows = stats.query({ days: 1 });
    assert.equal(rows.length, MAX_DOMAINS + 1);
    assert.equal(rows.find((r) => r.domain === OTHER)?.messages.tls, 50);
    await stats.close();
    assert.ok((await readFile(file, 'utf8')).length < 300 * (MAX_DOMAINS + 1));
    await writeFile(file, '{not json');
    const said: string[] = [];
    const broken = new DomainTlsStatistics(file, Date.now, (m) => said.push(m));
    await broken.open();
    assert.deepEqual(broken.query({ days: 31 }), []);
    assert.match(said[0]!, /cannot be read .*counting starts again/);
    await broken.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('why a connection carried nothing, in the report\'s classes', () => {
  assert.equal(failureReason({ stage: 'no-starttls' }, ''), 'no STARTTLS');
  assert.equal(failureReason({ stage: 'handshake-failed', error: 'wrong version' }, ''), 'handshake failed');
  assert.equal(failureReason(null, 'DANE no usable TLSA record'), 'DANE mismatch');
  assert.equal(failureReason(null, 'DANE the TLSA answer is DNSSEC bogus'), 'DNSSEC bogus');
  assert.equal(failureReason(null, 'TLS failed: certificate verification failed: certificate has expired'), 'certificate expired');
  assert.equal(failureReason(null, "TLS failed: certificate verification failed: Hostname/IP does not match certificate's altnames"), 'name mismatch');
  assert.equal(failureReason(null, 'TLS failed: certificate verification failed: self-signed certificate in certificate chain'), 'certificate invalid');
});

test('a suggestion only where every delivery of the period passed the stricter way, with a command that keeps the entry\'s other settings', () => {
  const config = defaultConfig();
  config.delivery.destinations = [
    { domain: 'kept.example', tls: 'preferred-verify', maxConcurrency: 20 },
    { domain: 'dane.example', tls: 'required-verify', dane: 'opportunistic' },
  ];
  const row = (domain: string, messages: Partial<Record<'clear' | 'tls' | 'verified' | 'dane' | 'mta-sts' | 'failed', number>>, failures = {}, verifiable = 0) => ({
    domain,
    messages: { clear: 0, tls: 0, verified: 0, dane: 0, 'mta-sts': 0, failed: 0, ...messages },
    verifiable,
    failures,
  });
  const rows = [
    row('kept.example', { verified: 12 }, { 'no connection': 2 }),
    row('new.example', { verified: 10 }),
    row('dane.example', { dane: 15 }),
    row('few.example', { verified: 9 }),
    row('mixed.example', { verified: 40, clear: 1 }),
    row('expired.example', { verified: 40 }, { 'certificate expired': 1 }),
    row(OTHER, { verified: 100 }),
    row('looked.example', { tls: 11 }, {}, 11),
    row('unlooked.example', { tls: 11 }, {}, 10),
  ];
  const all = tlsSuggestions(rows, config.delivery, '30 days');
  const s = all.map(({ domain, evidence, command }) => ({ domain, evidence, command }));
  assert.deepEqual(s, [
    { domain: 'kept.example', evidence: '12 deliveries over 30 days, every one over verified TLS', command: 'destconfig edit kept.example --tls required-verify --max-concurrency 20' },
    { domain: 'new.example', evidence: '10 deliveries over 30 days, every one over verified TLS', command: 'destconfig new new.example --tls required-verify' },
    { domain: 'dane.example', evidence: '15 deliveries over 30 days, every one DANE-authenticated', command: 'destconfig edit dane.example --tls required-verify --dane mandatory' },
    { domain: 'looked.example', evidence: '11 deliveries over 30 days, every one with a certificate that verified', command: 'destconfig new looked.example --tls required-verify' },
  ]);
  assert.deepEqual(all[0]!.entry, { domain: 'kept.example', tls: 'required-verify', maxConcurrency: 20 }, 'the GUI stages the same change');
  assert.equal(all[0]!.create, false);
  assert.deepEqual(all[1]!.entry, { domain: 'new.example', tls: 'required-verify' });
  assert.equal(all[1]!.create, true);
});

test('inbound: each message counted by its sending domain and its client host, a null sender by name; TLS failures by host only', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mxg-inbound-'));
  try {
    const inbound = new InboundTlsStatistics(dir, () => undefined);
    await inbound.open();
    inbound.message({ from: 'Alice@Sender.Example', clientAddress: '2001:DB8::1', receivedOverTls: true });
    inbound.message({ from: '', clientAddress: '192.0.2.7' });
    inbound.failure('192.0.2.7', 'no STARTTLS');
    await inbound.close();
    const again = new InboundTlsStatistics(dir, () => undefined);
    await again.open();
    assert.deepEqual(again.senders.query({ days: 1 }).map((r) => [r.domain, r.messages.tls, r.messages.clear]), [[NULL_SENDER, 0, 1], ['sender.example', 1, 0]].sort((a, b) => String(a[0]).localeCompare(String(b[0]))));
    const hosts = again.hosts.query({ days: 1 });
    assert.deepEqual(hosts.find((r) => r.domain === '2001:db8::1')?.messages.tls, 1);
    assert.deepEqual(hosts.find((r) => r.domain === '192.0.2.7')?.failures, { 'no STARTTLS': 1 });
    await again.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

const HOUR = 3_600_000;

test('the last hours: counts per UTC clock hour for 24 hours, a series hour by hour, kept across a restart', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mxg-stats-'));
  try {
    const file = path.join(dir, 'stats.json');
    let now = Date.parse('2026-12-06T07:59:00Z');
    const stats = new DomainTlsStatistics(file, () => now);
    await stats.open();
    stats.message('partner.example', 'clear');
    now = Date.parse('2026-12-06T08:10:00Z');
    stats.message('partner.example', 'verified');
    stats.message('partner.example', 'verified');
    await stats.close();
    const again = new DomainTlsStatistics(file, () => now);
    await again.open();
    assert.deepEqual(again.query({ hours: 1 }).map((r) => [r.domain, r.messages.verified, r.messages.clear]), [['partner.example', 2, 0]], 'this hour only');
    assert.deepEqual(again.query({ hours: 2 }).map((r) => [r.messages.verified, r.messages.clear]), [[2, 1]]);
    assert.deepEqual(again.query({ days: 1 }).map((r) => [r.messages.verified, r.messages.clear]), [[2, 1]], 'the day has them all');
    assert.equal(spanSince({ hours: 2 }, now), '2026-12-06T07:00:00.000Z');
    assert.equal(spanSince({ days: 7 }, now), '2026-11-30T00:00:00.000Z');
    const series = again.series({ hours: 3 }, 'partner.example');
    assert.deepEqual(series.map((h) => [h.hour, h.clear, h.verified]), [['2026-12-06T06:00:00.000Z', 0, 0], ['2026-12-06T07:00:00.000Z', 1, 0], ['2026-12-06T08:00:00.000Z', 0, 2]]);
    now += 24 * HOUR;
    again.message('later.example', 'tls');
    assert.deepEqual(again.query({ hours: 24 }).map((r) => r.domain), ['later.example'], 'hours older than 24 are gone');
    assert.deepEqual(again.query({ days: 2 }).map((r) => r.domain).sort(), ['later.example', 'partner.example'], 'the days stay');
    await again.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the MX hosts that took a domain\'s mail are kept, bounded: past the limit the list says there were more', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mxg-stats-'));
  try {
    const stats = new DomainTlsStatistics(path.join(dir, 'stats.json'));
    await stats.open();
    stats.message('few.example', 'verified', false, 'MX1.few.example');
    stats.message('few.example', 'verified', false, 'mx1.few.example');
    stats.message('few.example', 'failed');
    for (let i = 0; i < MAX_MX_HOSTS + 3; i++) stats.message('many.example', 'verified', false, `mx${i}.many.example`);
    const rows = stats.query({ days: 1 });
    assert.deepEqual(rows.find((r) => r.domain === 'few.example')?.mxHosts, ['mx1.few.example']);
    const many = rows.find((r) => r.domain === 'many.example')?.mxHosts ?? [];
    assert.equal(many.length, MAX_MX_HOSTS);
    assert.equal(many.at(-1), MORE_HOSTS);
    await stats.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** A cluster's pool in memory, as the etcd one behaves: each member's buckets under its name. */
function memoryPool(store: Map<string, Bucket>, member: string): SharedTlsStatistics & { puts: number } {
  const pool = {
    puts: 0,
    async put(kind: string, buckets: [string, Bucket][], keep: (k: string) => boolean) {
      pool.puts += 1;
      for (const [k, b] of buckets) store.set(`${kind}/${k}/${member}`, structuredClone(b));
      for (const key of [...store.keys()]) if (key.startsWith(`${kind}/`) && !keep(key.split('/')[1]!)) store.delete(key);
    },
    async others(kind: string): Promise<[string, Bucket][]> {
      return [...store].filter(([key]) => key.startsWith(`${kind}/`) && !key.endsWith(`/${member}`)).map(([key, b]) => [key.split('/')[1]!, b]);
    },
  };
  return pool;
}

test('in a cluster each member shares its buckets (all of them when it joins, then what changed) and adds the others\' in', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mxg-stats-'));
  try {
    const store = new Map<string, Bucket>();
    const now = Date.parse('2026-12-06T08:10:00Z');
    let joined = false;
    const poolA = memoryPool(store, 'a');
    // Each member keeps its counts in a file of the same name in its own data directory: the kind in the pool.
    const fileOf = async (member: string) => path.join(await mkdtemp(path.join(dir, member)), 'tls-statistics.json');
    const a = new DomainTlsStatistics(await fileOf('a'), () => now, undefined, () => (joined ? poolA : undefined));
    const b = new DomainTlsStatistics(await fileOf('b'), () => now, undefined, () => memoryPool(store, 'b'));
    await a.open();
    await b.open();
    a.message('partner.example', 'verified', false, 'mx1.partner.example');
    await a.flush();
    assert.equal(store.size, 0, 'standalone: nothing shared');
    joined = true;
    await a.flush();
    assert.equal(store.size, 2, 'on joining: the day and the hour');
    await a.flush();
    assert.equal(poolA.puts, 1, 'nothing changed: nothing put');
    b.message('partner.example', 'verified', false, 'mx2.partner.example');
    await b.flush();
    const [row] = a.query({ days: 30 }, 'partner.example', await poolA.others(a.kind));
    assert.equal(row?.messages.verified, 2);
    assert.deepEqual(row?.mxHosts, ['mx1.partner.example', 'mx2.partner.example']);
    assert.equal(a.query({ hours: 1 }, undefined, await poolA.others(a.kind))[0]?.messages.verified, 2);
    assert.deepEqual(a.series({ days: 2 }, 'partner.example', await poolA.others(a.kind)).map((d) => d.verified), [0, 2]);
    assert.equal(a.query({ days: 30 })[0]?.messages.verified, 1, 'its own file has its own deliveries only');
    const failing: SharedTlsStatistics = { put: async () => Promise.reject(new Error('no quorum')), others: async () => [] };
    const said: string[] = [];
    const c = new DomainTlsStatistics(await fileOf('c'), () => now, (m) => said.push(m), () => failing);
    await c.open();
    c.message('partner.example', 'tls');
    await c.close();
    assert.match(said[0] ?? '', /could not be shared with the cluster \(kept for the next minute\): no quorum/);
    await a.close();
    await b.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('MTA-STS: suggested only when the partner\'s policy is in enforce and names every MX host that took verified mail', () => {
  const config = defaultConfig();
  config.delivery.defaults.tls = 'preferred';
  config.delivery.destinations = [{ domain: 'on.example', tls: 'preferred', mtaSts: 'yes' }];
  const row = (domain: string, mxHosts: string[], messages: Partial<Record<'clear' | 'tls' | 'verified' | 'dane', number>> = { verified: MIN_DELIVERIES }, verifiable = 0) => ({
    domain,
    messages: { clear: 0, tls: 0, verified: 0, dane: 0, 'mta-sts': 0, failed: 0, ...messages },
    verifiable,
    failures: {},
    mxHosts,
  });
  const rows = [
    row('good.example', ['mx1.good.example', 'mx2.good.example']),
    row('looked.example', ['mx.looked.example'], { tls: 12 }, 12),
    row('unverified.example', ['mx.unverified.example'], { tls: 12 }, 11),
    row('dane.example', ['mx.dane.example'], { dane: 12 }),
    row('on.example', ['mx.on.example']),
    row('more.example', ['mx1.more.example', MORE_HOSTS]),
    row('unknown.example', []),
  ];
  const candidates = mtaStsCandidates(rows, config.delivery);
  assert.deepEqual(candidates.map((r) => r.domain), ['good.example', 'looked.example'], 'only PKIX-verified evidence to known hosts, where MTA-STS is not on yet');
  const enforce = { mode: 'enforce' as const, mx: ['*.good.example'], maxAge: 86400 };
  const s = mtaStsSuggestion(candidates[0]!, enforce, config.delivery, '30 days');
  assert.deepEqual(s && { evidence: s.evidence, command: s.command }, {
    evidence: '10 deliveries over 30 days, every one over verified TLS to mx1.good.example, mx2.good.example, each named by its MTA-STS policy (enforce)',
    command: 'destconfig new good.example --tls preferred --mta-sts yes',
  });
  assert.equal(mtaStsSuggestion(candidates[0]!, { ...enforce, mode: 'testing' }, config.delivery, '30 days'), undefined, 'testing enforces nothing');
  assert.equal(mtaStsSuggestion(candidates[0]!, { ...enforce, mx: ['mx1.good.example'] }, config.delivery, '30 days'), undefined, 'mx2 would have been refused');
  assert.equal(mtaStsSuggestion(candidates[0]!, null, config.delivery, '30 days'), undefined, 'no policy');
});
