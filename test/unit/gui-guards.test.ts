import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GuiSessions, IDLE_MS } from '../../src/engine/https/guiSessions.js';
import { LOGIN_LIMITS, LoginGuard } from '../../src/engine/access/loginGuard.js';
import { deliveryChart } from '../../src/engine/https/chart.js';
import { TlsOutcomeCounter } from '../../src/engine/delivery/tlsOutcomes.js';

test('a GUI session ends after the idle time, and when its account changes role or goes away', () => {
  let now = 1_000_000;
  const sessions = new GuiSessions(() => now);
  const s = sessions.create('alice', 'operator', '127.0.0.1');
  assert.equal(sessions.get(s.id)?.user, 'alice');
  now += IDLE_MS - 1000;
  assert.ok(sessions.get(s.id), 'used just before the idle limit: still there, and touched');
  now += IDLE_MS - 1000;
  assert.ok(sessions.get(s.id));
  now += IDLE_MS + 1;
  assert.equal(sessions.get(s.id), undefined, 'idle too long');
  const t = sessions.create('bob', 'administrator', '127.0.0.1');
  sessions.retain([{ name: 'bob', role: 'operator' }]);
  assert.equal(sessions.get(t.id), undefined, 'a role change needs a new login');
  assert.equal(sessions.get(undefined), undefined);
  assert.equal(sessions.get('forged'), undefined);
});

test('failed logins: an address waits after the limit, an account locks for every address, success resets the account', () => {
  let now = 0;
  const guard = new LoginGuard(() => now);
  for (let i = 0; i < LOGIN_LIMITS.perAddress - 1; i += 1) {
    assert.deepEqual(guard.check('10.0.0.1', 'alice'), { ok: true });
    guard.failed('10.0.0.1', 'alice');
  }
  guard.succeeded('alice');
  assert.deepEqual(guard.check('10.0.0.2', 'alice'), { ok: true }, 'the account count was reset by the success');
  assert.deepEqual(guard.failed('10.0.0.1', 'carol'), { locked: false });
  const limited = guard.check('10.0.0.1', 'bob');
  assert.equal(limited.ok, false);
  assert.equal(!limited.ok && limited.reason, 'address-limited');
  now += LOGIN_LIMITS.addressWindowMs + 1;
  assert.deepEqual(guard.check('10.0.0.1', 'bob'), { ok: true }, 'the window has passed');

  for (let i = 0; i < LOGIN_LIMITS.perAccount; i += 1) guard.failed(`10.0.1.${i}`, 'dave');
  const locked = guard.check('10.9.9.9', 'dave');
  assert.equal(!locked.ok && locked.reason, 'locked');
  assert.ok(!locked.ok && locked.retryAfterSeconds > 0 && locked.retryAfterSeconds <= LOGIN_LIMITS.lockMs / 1000);
  now += LOGIN_LIMITS.lockMs + 1;
  assert.deepEqual(guard.check('10.9.9.9', 'dave'), { ok: true }, 'the lock expires');
});

test('the delivery chart stacks each hour by outcome and scales to the busiest hour', () => {
  const counter = new TlsOutcomeCounter();
  const now = Date.UTC(2026, 11, 2, 12, 30);
  counter.record('dane', now);
  counter.record('dane', now);
  counter.record('failed', now);
  counter.record('clear', now - 3_600_000);
  counter.record('verified', now - 25 * 3_600_000); // older than 24 hours: not shown
  const hours = counter.last24Hours(now);
  assert.equal(hours.length, 24);
  assert.equal(hours[23]!.hour, '2026-12-02T12:00:00.000Z');
  assert.deepEqual([hours[23]!.dane, hours[23]!.failed, hours[22]!.clear], [2, 1, 1]);
  assert.equal(hours.reduce((n, h) => n + h.verified, 0), 0);
  const chart = deliveryChart(hours);
  assert.equal(chart.max, 3);
  const last = chart.bars[23]!;
  assert.equal(last.segments.length, 2);
  assert.equal(Math.round(last.segments.reduce((n, s) => n + s.height, 0)), chart.height - 10, 'the busiest hour fills the chart');
  assert.match(last.title, /^2026-12-02T12:00 UTC — .*DANE 2, MTA-STS 0, Failed 1$/);
  assert.deepEqual(chart.legend.map((l) => `${l.label} ${l.count}`), ['Clear text 1', 'TLS (not verified) 0', 'TLS verified 0', 'DANE 2', 'MTA-STS 0', 'Failed 1']);
});
