import assert from 'node:assert/strict';
import { test } from 'node:test';
import { entryCovers, entryForPattern, mostSpecificEntry } from '../../src/store/domainMatch.js';
import { destinationForPattern } from '../../src/store/destinations/destinations.js';

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
