import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecipientRate } from '../../src/engine/delivery/recipientRate.js';

const limit = { recipients: 3, minutes: 1 };
const t0 = Date.parse('2026-11-27T10:00:00Z');

test('no limit grants everything', () => {
  assert.equal(new RecipientRate().take('a.test', null, 500, t0), 500);
});

test('slots are granted up to the limit within the window, per domain', () => {
  const rate = new RecipientRate();
  assert.equal(rate.take('a.test', limit, 2, t0), 2);
  assert.equal(rate.take('a.test', limit, 2, t0 + 1000), 1);
  assert.equal(rate.take('a.test', limit, 1, t0 + 2000), 0);
  assert.equal(rate.take('b.test', limit, 3, t0 + 2000), 3, 'another domain has its own window');
});

test('slots free as the window slides, and the wait says when', () => {
  const rate = new RecipientRate();
  rate.take('a.test', limit, 2, t0);
  rate.take('a.test', limit, 1, t0 + 30_000);
  assert.equal(rate.waitSeconds('a.test', limit, t0 + 40_000), 20, 'the two oldest slots free at t0 + 60 s');
  assert.equal(rate.take('a.test', limit, 3, t0 + 60_001), 2);
  assert.equal(rate.waitSeconds('a.test', limit, t0 + 60_001), 30);
  assert.equal(rate.waitSeconds('b.test', limit, t0), 1, 'a domain with free slots waits the minimum');
});

test('slots given back (nothing was offered) are free again; only those taken at that moment', () => {
  const rate = new RecipientRate();
  const limit = { recipients: 5, minutes: 1 };
  assert.equal(rate.take('a.test', limit, 2, 1000), 2);
  assert.equal(rate.take('a.test', limit, 3, 2000), 3);
  assert.equal(rate.take('a.test', limit, 1, 2500), 0, 'full');
  rate.giveBack('a.test', 3, 2000);
  assert.equal(rate.take('a.test', limit, 5, 3000), 3, 'the three given back are free; the two of 1000 still count');
  rate.giveBack('a.test', 9, 999);
  assert.equal(rate.take('a.test', limit, 1, 3000), 0, 'nothing taken at 999: nothing given back');
});

test('limits per MX IP: each address of a domain has its own window, apart from the domain\'s', () => {
  const rate = new RecipientRate();
  const gate = rate.perAddress('a.test', limit);
  assert.equal(gate.take('192.0.2.1', 5), 3);
  assert.equal(gate.hasRoom('192.0.2.1'), false);
  assert.equal(gate.hasRoom('192.0.2.2'), true, 'the second address has room');
  assert.equal(gate.take('192.0.2.2', 2), 2);
  assert.ok(gate.waitSeconds('192.0.2.1') > 50, 'the full address frees a slot when its window moves');
  assert.equal(rate.take('a.test', limit, 3), 3, 'the domain\'s own window (limits per domain) is not touched');
  assert.equal(rate.perAddress('a.test', limit).hasRoom('192.0.2.1'), false, 'the next delivery sees the same windows');
  gate.giveBack('192.0.2.2', 2);
  assert.equal(gate.take('192.0.2.2', 3), 3, 'slots given back (nothing was offered) are free again');
});
