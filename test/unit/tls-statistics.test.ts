import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { DomainTlsStatistics, MAX_DOMAINS, OTHER } from '../../src/engine/delivery/domainTlsStatistics.js';
import { failureReason } from '../../src/engine/delivery/tlsOutcomes.js';
import { tlsSuggestions } from '../../src/engine/delivery/tlsSuggestions.js';
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
    const all = again.query(30);
    assert.deepEqual(all.map((r) => [r.domain, r.messages.verified, r.messages.clear]), [['partner.example', 2, 0], ['other.example', 0, 1]]);
    assert.deepEqual(all[0]!.failures, { 'certificate expired': 1 });
    assert.equal(all[0]!.verifiable, 1);
    assert.equal(again.query(1, 'PARTNER.example')[0]!.messages.verified, 1, 'today only');
    now += 40 * DAY;
    again.message('late.example', 'tls');
    assert.deepEqual(again.query(31).map((r) => r.domain), ['late.example'], 'older days are gone');
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
    const rows = stats.query(1);
    assert.equal(rows.length, MAX_DOMAINS + 1);
    assert.equal(rows.find((r) => r.domain === OTHER)?.messages.tls, 50);
    await stats.close();
    assert.ok((await readFile(file, 'utf8')).length < 300 * (MAX_DOMAINS + 1));
    await writeFile(file, '{not json');
    const said: string[] = [];
    const broken = new DomainTlsStatistics(file, Date.now, (m) => said.push(m));
    await broken.open();
    assert.deepEqual(broken.query(31), []);
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
  const all = tlsSuggestions(rows, config.delivery, 30);
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
    assert.deepEqual(again.senders.query(1).map((r) => [r.domain, r.messages.tls, r.messages.clear]), [[NULL_SENDER, 0, 1], ['sender.example', 1, 0]].sort((a, b) => String(a[0]).localeCompare(String(b[0]))));
    const hosts = again.hosts.query(1);
    assert.deepEqual(hosts.find((r) => r.domain === '2001:db8::1')?.messages.tls, 1);
    assert.deepEqual(hosts.find((r) => r.domain === '192.0.2.7')?.failures, { 'no STARTTLS': 1 });
    await again.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
