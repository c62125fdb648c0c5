import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkTag, tagSender } from '../../src/engine/bounceTags.js';

const key = { name: '00000000', number: 3, tagKey: 'ab'.repeat(32), created: '2026-12-01T00:00:00Z' };
const other = { ...key, tagKey: 'cd'.repeat(32) };
const now = Date.parse('2026-12-06T12:00:00Z');
const DAY = 86_400_000;

test('a BATV tag verifies for a week with the key that made it, and for nothing else', () => {
  const tagged = tagSender('Alice@example.com', key, now);
  assert.match(tagged, /^prvs=3\d{3}[0-9a-f]{6}=Alice@example\.com$/);
  assert.deepEqual(checkTag(tagged, [key], now), { tag: 'valid', address: 'Alice@example.com' });
  assert.deepEqual(checkTag(tagged.toUpperCase().replace('PRVS', 'prvs').replace('@EXAMPLE.COM', '@example.com'), [key], now + 6 * DAY).tag, 'valid', 'the case of the address does not matter');
  assert.deepEqual(checkTag(tagged, [key], now + 8 * DAY), { tag: 'invalid', address: 'Alice@example.com', why: 'expired' });
  assert.deepEqual(checkTag(tagged, [{ ...other, number: 3 }], now), { tag: 'invalid', address: 'Alice@example.com', why: 'the signature does not match' });
  assert.deepEqual(checkTag(tagged, [{ ...key, number: 4 }], now), { tag: 'invalid', address: 'Alice@example.com', why: 'made with a key that is no longer kept' });
  assert.deepEqual(checkTag(tagged.replace('=Alice@', '=Bob@'), [key], now).tag, 'invalid', 'the tag belongs to one address');
  assert.deepEqual(checkTag('alice@example.com', [key], now), { tag: 'none' });
});

test('nothing to tag: a null sender, a tag already, a local part that would grow past 64 characters', () => {
  assert.equal(tagSender('', key, now), '');
  const once = tagSender('a@example.com', key, now);
  assert.equal(tagSender(once, key, now), once);
  const long = `${'x'.repeat(50)}@example.com`;
  assert.equal(tagSender(long, key, now), long);
});
