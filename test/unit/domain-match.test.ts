import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalName, entryCovers, entryForPattern, mostSpecificEntry } from '../../src/store/domainMatch.js';
import { destinationForPattern } from '../../src/store/destinations/destinations.js';
import { seededRandom } from '../seeded-random.js';

test('an entry covers its name exactly, or with a leading dot every name below it', () => {
  assert.equal(entryCovers('example.com', 'Example.COM.'), true, 'case and a trailing dot do not matter');
  assert.equal(entryCovers('example.com', 'a.example.com'), false);
  assert.equal(entryCovers('.example.com', 'a.b.example.com'), true);
  assert.equal(entryCovers('.example.com', 'example.com'), false, '".domain" is for subdomains only');
  assert.equal(entryCovers('.example.com', 'badexample.com'), false, 'label boundary');
});

test('the most specific entry: exact first, then the longest covering ".domain"', () => {
  const entries = [{ domain: '.com' }, { domain: '.example.com' }, { domain: 'mail.example.com' }];
  assert.equal(mostSpecificEntry(entries, 'mail.example.com')?.domain, 'mail.example.com');
  assert.equal(mostSpecificEntry(entries, 'a.mail.example.com')?.domain, '.example.com');
  assert.equal(mostSpecificEntry(entries, 'other.com')?.domain, '.com');
  assert.equal(mostSpecificEntry(entries, 'example.org'), undefined);
});

test('the entry of a pattern itself: ".domain" is never answered by an entry for one name below it', () => {
  const entries = [{ domain: '.example.com' }, { domain: 'x.example.com' }, { domain: '.com' }, { domain: 'example.org' }];
  assert.equal(entryForPattern(entries, '.example.com')?.domain, '.example.com');
  assert.equal(entryForPattern(entries, '.sub.example.com')?.domain, '.example.com', 'the longest ".domain" that covers every name below it');
  assert.equal(entryForPattern(entries, '.other.net'), undefined);
  assert.equal(entryForPattern(entries, '.net.com')?.domain, '.com');
  assert.equal(entryForPattern(entries, 'x.example.com')?.domain, 'x.example.com', 'a name: as mostSpecificEntry');
  assert.equal(entryForPattern(entries, 'y.example.com')?.domain, '.example.com');
  const delivery = { defaults: { tls: 'no' }, destinations: [{ domain: '.example.com', tls: 'required' }, { domain: 'x.example.com', tls: 'preferred' }] } as unknown as Parameters<typeof destinationForPattern>[0];
  // The old lookup of "x.example.com" for ".example.com" answered with the x.example.com entry.
  assert.equal(destinationForPattern(delivery, '.example.com').tls, 'required');
});

/** mostSpecificEntry as it was, a scan of every entry: the reference the indexed lookup must answer as. */
const byScan = <T extends { domain: string }>(entries: readonly T[], name: string): T | undefined => {
  const n = canonicalName(name);
  return entries.find((e) => e.domain.toLowerCase() === n) ?? entries.filter((e) => e.domain.startsWith('.') && entryCovers(e.domain, n)).sort((a, b) => b.domain.length - a.domain.length)[0];
};

test('the most specific entry, looked up in an index, is the one a scan of every entry finds: the same object, first of equals', () => {
  const domains = ['example.com', 'EXAMPLE.com', '.example.com', '.Example.COM', 'a.example.com', '.a.example.com', '.com', 'com', '.b.c.example.com', 'example.com.', '.net', 'x.y'];
  const names = ['example.com', 'Example.Com.', 'a.example.com', 'z.a.example.com', 'b.c.example.com', 'd.b.c.example.com', 'other.com', 'com', '.example.com', 'x.y', 'q.x.y', 'example.net', 'nothing', '', 'a..example.com'];
  let found = 0;
  for (let seed = 1; seed <= 400; seed += 1) {
    const pick = seededRandom(seed);
    const entries = Array.from({ length: pick(8) }, (_, i) => ({ domain: domains[pick(domains.length)]!, i }));
    for (const name of names) {
      const expected = byScan(entries, name);
      assert.equal(mostSpecificEntry(entries, name), expected, `[${entries.map((e) => e.domain).join(', ')}] ~ "${name}"`);
      if (expected) found += 1;
    }
  }
  assert.ok(found > 1000 && found < 400 * names.length - 1000, `${found} found`);
});

test('a list changed in place after a lookup (a draft during an edit) is looked up as it is now', () => {
  const entries = [{ domain: '.example.com' }, { domain: 'mail.example.com' }];
  assert.equal(mostSpecificEntry(entries, 'mail.example.com'), entries[1]);
  entries[1]!.domain = 'smtp.example.com';
  assert.equal(mostSpecificEntry(entries, 'mail.example.com'), entries[0], 'a domain changed');
  entries.push({ domain: 'mail.example.com' });
  assert.equal(mostSpecificEntry(entries, 'mail.example.com'), entries[2], 'an entry added');
  entries[2] = { domain: '.mail.example.com' };
  assert.equal(mostSpecificEntry(entries, 'a.mail.example.com'), entries[2], 'an entry replaced');
  entries.length = 0;
  assert.equal(mostSpecificEntry(entries, 'a.mail.example.com'), undefined, 'the entries removed');
});
