import assert from 'node:assert/strict';
import { test } from 'node:test';
import { entryCovers, mostSpecificEntry } from '../../src/store/domainMatch.js';

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
