/**
 * Sender groups are matched by their compiled form (store/listeners/senderGroupMatcher.ts): the
 * same answers as checking `patternMatches` entry by entry, for every kind of entry, and work per
 * connection that does not grow with the number of entries.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { senderPatternProblem } from '../../src/store/grammar.js';
import { classify, defaultHat, hatUsesHostnames, patternMatches } from '../../src/store/listeners/hat.js';
import { compileSenderGroup } from '../../src/store/listeners/senderGroupMatcher.js';
import { seededRandom } from '../seeded-random.js';

/** Entries of every kind around a few addresses and names, so that random clients often fall on their edges. */
function randomEntry(pick: (n: number) => number): string {
  const octet = () => String([0, 1, 2, 9, 10, 127, 128, 192, 254, 255][pick(10)]);
  const v4 = () => `${octet()}.${octet()}.${octet()}.${octet()}`;
  const v6 = () => ['::1', 'fd00::', 'fd12::1', '2001:db8::', '2001:db8::ff', '::ffff:10.1.2.3', 'fe80::1:2'][pick(7)]!;
  const name = () => ['mx.example.com', 'a.b.example.com', 'example.com', 'MX.Example.Net', 'mail.test'][pick(5)]!;
  switch (pick(10)) {
    case 0:
      return v4();
    case 1:
      return `${v4()}/${pick(33)}`;
    case 2:
      return v6();
    case 3:
      return `${v6()}/${pick(129)}`;
    case 4:
      return `${Array.from({ length: 1 + pick(3) }, () => (pick(6) === 0 ? '010' : octet())).join('.')}.`;
    case 5:
      return `${octet()}.${octet()}.${pick(4) === 0 ? '00' : octet()}.${pick(300)}-${pick(300)}`;
    case 6:
      return name();
    case 7:
      return `.${name()}`;
    case 8:
      return pick(8) === 0 ? 'ALL' : `${octet()}.${octet()}.`;
    default:
      return `${octet()}.${octet()}.${octet()}.${pick(256)}-${pick(256)}`;
  }
}

function randomClient(pick: (n: number) => number): [string, string | undefined] {
  const octet = () => String([0, 1, 2, 9, 10, 11, 127, 128, 129, 192, 254, 255][pick(12)]);
  const ip = pick(4) === 0 ? ['::1', 'fd00::7', 'fd12::1', '2001:db8::1', '2001:db9::', 'fe80::1:2', '::2'][pick(7)]! : `${octet()}.${octet()}.${octet()}.${octet()}`;
  const host = [undefined, 'mx.example.com', 'MX.EXAMPLE.COM.', 'x.a.b.example.com', 'example.com', 'notexample.com', 'mx.example.net', 'mail.test'][pick(8)];
  return [ip, host];
}

test('a compiled sender group answers as its entries do one by one: addresses, CIDR, partial, ranges, IPv6, names, ALL', () => {
  let compared = 0;
  let matched = 0;
  for (let seed = 1; seed <= 400; seed += 1) {
    const pick = seededRandom(seed);
    const entries = Array.from({ length: 1 + pick(12) }, () => randomEntry(pick)).filter((p) => senderPatternProblem(p) === undefined);
    const { matches: match } = compileSenderGroup(entries);
    for (let i = 0; i < 60; i += 1) {
      const [ip, host] = randomClient(pick);
      const expected = entries.some((p) => patternMatches(p, ip, host));
      assert.equal(match(ip, host), expected, `seed ${seed}: [${entries.join(', ')}] ~ ${ip} ${host ?? ''}`);
      compared += 1;
      if (expected) matched += 1;
    }
  }
  // Both answers occur often enough for the comparison to mean something.
  assert.ok(matched > compared / 10 && matched < (compared * 9) / 10, `${matched} of ${compared} matched`);
});

test('the edges of each kind of entry', () => {
  const { matches: match } = compileSenderGroup(['10.1.', '192.0.2.10-20', '198.51.100.0/25', '0.0.0.0/0', '.Example.COM', 'mx.example.net']);
  assert.equal(compileSenderGroup(['10.1.']).matches('10.1.0.0'), true);
  assert.equal(compileSenderGroup(['10.1.']).matches('10.1.255.255'), true);
  assert.equal(compileSenderGroup(['10.1.']).matches('10.2.0.0'), false);
  assert.equal(compileSenderGroup(['10.1.']).matches('10.10.0.1'), false, 'a partial entry ends at a dot');
  assert.equal(compileSenderGroup(['010.']).matches('10.0.0.1'), false, 'compared as text: an address has no leading zero');
  assert.equal(compileSenderGroup(['192.0.2.10-20']).matches('192.0.2.9'), false);
  assert.equal(compileSenderGroup(['192.0.2.10-20']).matches('192.0.2.20'), true);
  assert.equal(compileSenderGroup(['192.0.2.250-300']).matches('192.0.3.0'), false, 'a range never reaches into the next block');
  assert.equal(compileSenderGroup(['198.51.100.0/25']).matches('198.51.100.128'), false);
  assert.equal(compileSenderGroup(['198.51.100.7/24']).matches('198.51.100.200'), true, 'the block of the base, as BlockList counts it');
  assert.equal(compileSenderGroup(['0.0.0.0/0']).matches('255.255.255.255'), true);
  assert.equal(compileSenderGroup(['0.0.0.0/0']).matches('::1'), false, 'an IPv4 block never covers an IPv6 client');
  assert.equal(compileSenderGroup(['::/0']).matches('127.0.0.1'), false);
  assert.equal(match('203.0.113.1', 'A.example.com.'), true);
  assert.equal(match('::1', 'mx.example.net'), true, '0.0.0.0/0 is not all: an IPv6 client goes on to the names');
  assert.equal(compileSenderGroup(['.example.com']).matches('::1', 'example.com'), false, '".example.com" covers only names below it');
  assert.equal(compileSenderGroup(['mx.example.net']).matches('::1'), false, 'no name, no name match');
  assert.deepEqual([['10.1.', '::/0', '1.2.3.4-5'], ['10.1.', 'mx.example.net'], ['.example.com']].map((entries) => compileSenderGroup(entries).hasNames), [false, true, true], 'which groups need the client\'s host name');
});

test('a connection is matched without work per entry: 2000 entries, no BlockList rule added, one BlockList check per IPv6 client', () => {
  const hat = defaultHat('public');
  const allow = hat.senderGroups.find((g) => g.name === 'ALLOWLIST')!;
  for (let i = 0; i < 2000; i += 1) allow.patterns.push(i % 2 ? `10.${i >> 8}.${i & 255}.0/24` : `2001:db8:${i.toString(16)}::/48`);
  assert.equal(classify(hat, '10.3.4.5')!.group, 'ALL', 'compiled on first use');
  // Matching entry by entry built a BlockList with one rule for each address or CIDR entry, for each client.
  const proto = net.BlockList.prototype;
  const calls = { addAddress: 0, addSubnet: 0, check: 0 };
  const originals = { addAddress: proto.addAddress, addSubnet: proto.addSubnet, check: proto.check };
  for (const name of Object.keys(calls) as (keyof typeof calls)[]) {
    const original = originals[name] as (...args: unknown[]) => unknown;
    (proto as unknown as Record<string, unknown>)[name] = function (this: unknown, ...args: unknown[]) {
      calls[name] += 1;
      return original.apply(this, args);
    };
  }
  try {
    for (let i = 0; i < 20; i += 1) {
      assert.equal(classify(hat, `10.${i % 8}.1.1`)!.group, 'ALLOWLIST');
      assert.equal(classify(hat, '2001:db8:2::1')!.group, 'ALLOWLIST');
      assert.equal(classify(hat, '192.0.2.1')!.group, 'ALL');
    }
  } finally {
    Object.assign(proto, originals);
  }
  assert.deepEqual(calls, { addAddress: 0, addSubnet: 0, check: 20 }, 'BlockList calls while 60 clients were classified');
});

test('a HAT changed in place after a classification is matched as it is now', () => {
  const hat = defaultHat('public');
  const block = hat.senderGroups.find((g) => g.name === 'BLOCKLIST')!;
  block.patterns.push('192.0.2.1');
  assert.equal(classify(hat, '192.0.2.1')!.group, 'BLOCKLIST');
  block.patterns[0] = '192.0.2.2';
  assert.equal(classify(hat, '192.0.2.1')!.group, 'ALL', 'an entry replaced');
  assert.equal(classify(hat, '192.0.2.2')!.group, 'BLOCKLIST');
  block.patterns.length = 0;
  assert.equal(classify(hat, '192.0.2.2')!.group, 'ALL', 'the entries removed');
  assert.equal(hatUsesHostnames(hat), false);
  block.patterns.push('.example.com');
  assert.equal(hatUsesHostnames(hat), true, 'a name added: host names are looked up');
  assert.equal(classify(hat, '192.0.2.2', 'mx.example.com')!.group, 'BLOCKLIST');
});
