/**
 * Sender groups and recipient access tables are matched in their compiled form
 * (store/listeners/senderGroupMatcher.ts, engine/listener/rcptAccess.ts): the same answers as
 * checking `patternMatches` or `entryCovers` entry by entry, for every kind of entry, and work per
 * client that does not grow with the number of entries.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { senderPatternProblem } from '../../src/store/grammar.js';
import { compileHat, defaultHat, patternMatches } from '../../src/store/listeners/hat.js';
import { compileSenderGroup } from '../../src/store/listeners/senderGroupMatcher.js';
import { compileRecipientAccess } from '../../src/engine/listener/rcptAccess.js';
import { entryCovers } from '../../src/store/domainMatch.js';
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
  const compiled = compileHat(hat);
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
      assert.equal(compiled.classify(`10.${i % 8}.1.1`)!.group, 'ALLOWLIST');
      assert.equal(compiled.classify('2001:db8:2::1')!.group, 'ALLOWLIST');
      assert.equal(compiled.classify('192.0.2.1')!.group, 'ALL');
    }
  } finally {
    Object.assign(proto, originals);
  }
  assert.deepEqual(calls, { addAddress: 0, addSubnet: 0, check: 20 }, 'BlockList calls while 60 clients were classified');
});

test('a compiled HAT: the first matching group with a policy, its policy with defaults applied and shared unchanged, and whether names are looked up', () => {
  const hat = defaultHat('public');
  hat.defaults.tls = 'required';
  hat.senderGroups.find((g) => g.name === 'BLOCKLIST')!.patterns.push('192.0.2.0/24');
  hat.senderGroups.find((g) => g.name === 'SUSPECTLIST')!.patterns.push('192.0.2.7', '.example.com');
  hat.senderGroups.find((g) => g.name === 'ALLOWLIST')!.policy = 'NOSUCHPOLICY';
  hat.senderGroups.find((g) => g.name === 'ALLOWLIST')!.patterns.push('ALL');
  const compiled = compileHat(hat);
  assert.equal(compiled.usesHostnames, true);
  assert.equal(compileHat(defaultHat('public')).usesHostnames, false);
  assert.deepEqual(compiled.classify('192.0.2.7'), { group: 'BLOCKLIST', policy: { ...hat.defaults, name: 'BLOCKED', action: 'reject' } }, 'ALLOWLIST has no policy: skipped');
  assert.equal(compiled.classify('::ffff:198.51.100.1', 'MX.Example.com')!.group, 'SUSPECTLIST');
  const policy = compiled.classify('198.51.100.1')!.policy;
  assert.equal(policy.tls, 'required');
  assert.equal(compiled.classify('198.51.100.2')!.policy, policy, 'one policy object for every client of the group');
  assert.throws(() => {
    (policy as { tls: string }).tls = 'off';
  }, TypeError);
  hat.senderGroups.find((g) => g.name === 'BLOCKLIST')!.patterns.length = 0;
  assert.equal(compiled.classify('192.0.2.7')!.group, 'BLOCKLIST', 'a snapshot: the listener compiles again at each commit');
});

test('a compiled recipient access table answers as its entries do one by one: domains, .domains, ALL, case, trailing dots, literals', () => {
  const pool = ['example.com', '.example.com', 'EXAMPLE.net', '.Sub.Example.NET', 'all', 'ALL', 'test', '.test', '192.0.2.1', 'mail.test'];
  const addresses = ['a@example.com', 'a@x.example.com', 'a@EXAMPLE.COM.', 'a@badexample.com', 'a@sub.example.net', 'a@y.sub.example.net', 'a@example.net', 'a@test', 'a@b.test', 'a@[192.0.2.1]', 'postmaster', 'a@mail.test.', '"a@b"@c.test'];
  let allowed = 0;
  for (let seed = 1; seed <= 300; seed += 1) {
    const pick = seededRandom(seed);
    const table = Array.from({ length: pick(5) }, () => pool[pick(pool.length)]!);
    const allows = compileRecipientAccess(table);
    for (const address of addresses) {
      const at = address.lastIndexOf('@');
      const domain = address.slice(at + 1).replace(/^\[|\]$/g, '');
      const expected = at >= 0 && table.some((entry) => entry.toLowerCase() === 'all' || entryCovers(entry, domain));
      assert.equal(allows(address), expected, `[${table.join(', ')}] ~ ${address}`);
      if (expected) allowed += 1;
    }
  }
  assert.ok(allowed > 300 && allowed < 300 * addresses.length - 300, `${allowed} allowed`);
});
