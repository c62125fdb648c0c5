import assert from 'node:assert/strict';
import { test } from 'node:test';
import type dnsPacket from 'dns-packet';
import { cacheTtl, DnsCache, SERVFAIL_TTL } from '../../src/engine/dns/cache.js';

const a = (name: string, ttl: number, data = '192.0.2.1') => ({ type: 'A', name, ttl, data }) as dnsPacket.Answer;
const soa = (ttl: number, minimum: number) => ({ type: 'SOA', name: 'example.test', ttl, data: { mname: 'ns', rname: 'h', serial: 1, refresh: 1, retry: 1, expire: 1, minimum } }) as unknown as dnsPacket.Answer;
const rrsig = (originalTTL: number, expiration: number) => ({ type: 'RRSIG', name: 'mx.example.test', ttl: 3600, data: { typeCovered: 'A', algorithm: 13, labels: 3, originalTTL, expiration, inception: 0, keyTag: 1, signersName: 'example.test', signature: Buffer.alloc(64) } }) as unknown as dnsPacket.Answer;
const NOW = 1_800_000_000;

test('a positive answer lives for its smallest TTL, capped by its RRSIGs and by a day', () => {
  assert.equal(cacheTtl({ rcode: 'NOERROR', answers: [a('mx', 300), a('mx', 120)], authorities: [] }, 'A', NOW), 120);
  assert.equal(cacheTtl({ rcode: 'NOERROR', answers: [a('mx', 300), rrsig(60, NOW + 3600)], authorities: [] }, 'A', NOW), 60, 'the original TTL of the signature');
  assert.equal(cacheTtl({ rcode: 'NOERROR', answers: [a('mx', 300), rrsig(3600, NOW + 10)], authorities: [] }, 'A', NOW), 10, 'never past the signature\'s expiry');
  assert.equal(cacheTtl({ rcode: 'NOERROR', answers: [a('mx', 300), rrsig(3600, NOW - 10)], authorities: [] }, 'A', NOW), 0, 'an expired signature: not cached');
  assert.equal(cacheTtl({ rcode: 'NOERROR', answers: [a('mx', 10 * 86_400)], authorities: [] }, 'A', NOW), 86_400);
});

test('negative answers live for the SOA\'s TTL or MINIMUM, whichever is smaller, at most an hour; without an SOA not at all', () => {
  assert.equal(cacheTtl({ rcode: 'NXDOMAIN', answers: [], authorities: [soa(900, 300)] }, 'TLSA', NOW), 300);
  assert.equal(cacheTtl({ rcode: 'NOERROR', answers: [], authorities: [soa(200, 300)] }, 'TLSA', NOW), 200, 'NODATA');
  assert.equal(cacheTtl({ rcode: 'NXDOMAIN', answers: [], authorities: [soa(86_400, 86_400)] }, 'TLSA', NOW), 3600);
  assert.equal(cacheTtl({ rcode: 'NXDOMAIN', answers: [], authorities: [] }, 'TLSA', NOW), 0);
  assert.equal(cacheTtl({ rcode: 'NOERROR', answers: [a('other', 300)], authorities: [] }, 'TLSA', NOW), 0, 'records of another type are not an answer');
  assert.equal(cacheTtl({ rcode: 'SERVFAIL', answers: [], authorities: [] }, 'TLSA', NOW), SERVFAIL_TTL);
  assert.equal(cacheTtl({ rcode: 'REFUSED', answers: [], authorities: [] }, 'TLSA', NOW), 0);
});

test('the cache answers until the TTL runs out, shares a lookup in flight, and dnsflush empties it', async () => {
  let now = 0;
  const cache = new DnsCache<string>(1_000_000, () => now);
  let asked = 0;
  const ask = (value: string, ttl = 60) => async () => {
    asked++;
    await new Promise((r) => setImmediate(r));
    return { value, size: 100, ttl };
  };
  const [x, y] = await Promise.all([cache.get('k', ask('first')), cache.get('k', ask('second'))]);
  assert.deepEqual([x, y, asked], ['first', 'first', 1]);
  now = 59_000;
  assert.equal(await cache.get('k', ask('third')), 'first');
  now = 60_000;
  assert.equal(await cache.get('k', ask('fourth')), 'fourth', 'expired: asked again');
  assert.equal(await cache.get('zero', ask('a', 0)), 'a');
  assert.equal(await cache.get('zero', ask('b', 0)), 'b', 'TTL 0: never kept');
  assert.equal(cache.flush(), 1);
  assert.equal(await cache.get('k', ask('fifth')), 'fifth');
  assert.deepEqual(cache.stats(), { entries: 1, bytes: 100, hits: 2, misses: 5 });
});

test('a failed lookup is not kept; a lookup in flight during dnsflush is answered but not kept', async () => {
  const cache = new DnsCache<string>();
  await assert.rejects(cache.get('k', async () => Promise.reject(new Error('timed out'))), /timed out/);
  assert.equal(await cache.get('k', async () => ({ value: 'v', size: 10, ttl: 60 })), 'v');
  cache.flush();
  let release!: () => void;
  const slow = cache.get('s', () => new Promise((r) => (release = () => r({ value: 'old', size: 10, ttl: 60 }))));
  await new Promise((r) => setImmediate(r));
  cache.flush();
  release();
  assert.equal(await slow, 'old');
  assert.equal(await cache.get('s', async () => ({ value: 'new', size: 10, ttl: 60 })), 'new');
});

test('the cache holds at most its budget of bytes, the least recently used going first', async () => {
  const cache = new DnsCache<string>(1600);
  const put = (k: string) => cache.get(k, async () => ({ value: k, size: 100, ttl: 60 }));
  for (let i = 0; i < 16; i++) await put(`k${i}`);
  await put('k0'); // used again: now the most recent
  await put('k16');
  assert.deepEqual(cache.stats().entries, 16);
  assert.equal(cache.stats().bytes, 1600);
  assert.equal(await cache.get('k0', async () => ({ value: 'asked', size: 100, ttl: 60 })), 'k0', 'k0 was kept');
  assert.equal(await cache.get('k1', async () => ({ value: 'asked', size: 100, ttl: 60 })), 'asked', 'k1, the oldest, went');
  assert.equal(await cache.get('big', async () => ({ value: 'big', size: 1500, ttl: 60 })), 'big');
  assert.equal(cache.stats().bytes <= 1600, true);
});
