import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GuiSessions, IDLE_MS, sameToken } from '../../src/gui/guiSessions.js';
import { LOGIN_LIMITS, LoginGuard } from '../../src/access/loginGuard.js';
import { deliveryChart } from '../../src/gui/chart.js';
import { TlsOutcomeCounter } from '../../src/engine/delivery/tlsOutcomes.js';

const user = (name: string, role: 'administrator' | 'operator' | 'guest', c = 'A') => ({ name, role, passwordHash: `scrypt$15$8$1$${c.repeat(24)}$${c.repeat(44)}` });

test('a GUI session ends after the idle time, and when its account changes role, password or keys, or goes away', () => {
  let now = 1_000_000;
  const sessions = new GuiSessions(() => now);
  const s = sessions.create(user('alice', 'operator'), '127.0.0.1');
  assert.equal(sessions.get(s.id)?.user, 'alice');
  now += IDLE_MS - 1000;
  assert.ok(sessions.get(s.id), 'used just before the idle limit: still there, and touched');
  now += IDLE_MS - 1000;
  assert.ok(sessions.get(s.id));
  now += IDLE_MS + 1;
  assert.equal(sessions.get(s.id), undefined, 'idle too long');
  const t = sessions.create(user('bob', 'administrator'), '127.0.0.1');
  sessions.retain([user('bob', 'operator')]);
  assert.equal(sessions.get(t.id), undefined, 'a role change needs a new login');
  const u = sessions.create(user('carol', 'operator'), '127.0.0.1');
  const v = sessions.create(user('carol', 'operator'), '127.0.0.2');
  sessions.retain([user('carol', 'operator')]);
  assert.ok(sessions.get(u.id) && sessions.get(v.id), 'an unchanged account keeps its sessions');
  sessions.retain([user('carol', 'operator', 'Z')], { kind: 'account', name: 'carol', session: u.id });
  assert.ok(sessions.get(u.id), 'the session that changed its own password goes on');
  assert.equal(sessions.get(v.id), undefined, 'every other session of the account ends with a password change');
  assert.equal(sessions.get(undefined), undefined);
  assert.equal(sessions.get('forged'), undefined);
});

test('login tokens: an empty pair never matches', () => {
  assert.equal(sameToken('', ''), false);
  assert.equal(sameToken(undefined, ''), false);
  assert.equal(sameToken('abc', undefined), false);
  assert.equal(sameToken('abc', 'abc'), true);
  assert.equal(sameToken('abc', 'abd'), false);
});

test('failed logins: counted before they are checked; an address waits after the limit; an account locks for one address only', () => {
  let now = 0;
  const guard = new LoginGuard(() => now);
  const begin = (address: string, account: string) => {
    const v = guard.begin(address, account);
    assert.ok(v.ok, `${account} from ${address} may try`);
    return v.attempt;
  };
  for (let i = 0; i < LOGIN_LIMITS.perAddress - 1; i += 1) guard.failed(begin('10.0.0.1', 'alice'));
  guard.succeeded(begin('10.0.0.1', 'alice'));
  assert.ok(guard.begin('10.0.0.1', 'carol').ok, 'a success is taken back from the address count');
  const limited = guard.begin('10.0.0.1', 'bob');
  assert.equal(!limited.ok && limited.reason, 'address-limited');
  now += LOGIN_LIMITS.addressWindowMs + 1;
  assert.ok(guard.begin('10.0.0.1', 'bob').ok, 'the window has passed');

  // Attempts in flight count: the limit holds however many arrive before the first is checked.
  const parallel = Array.from({ length: 30 }, () => guard.begin('10.0.2.1', 'erin'));
  assert.equal(parallel.filter((v) => v.ok).length, LOGIN_LIMITS.perAddress);

  // Five failures from five addresses lock nothing; five from one lock that address only.
  for (let i = 0; i < LOGIN_LIMITS.perAccount; i += 1) guard.failed(begin(`10.0.1.${i}`, 'dave'));
  assert.ok(guard.begin('10.9.9.9', 'dave').ok, 'failures spread over addresses lock nobody out');
  now += LOGIN_LIMITS.addressWindowMs + 1;
  let last = { locked: false };
  for (let i = 0; i < LOGIN_LIMITS.perAccount; i += 1) last = guard.failed(begin('10.0.3.1', 'frank'));
  assert.equal(last.locked, true);
  now += LOGIN_LIMITS.addressWindowMs + 1; // the address window has passed: only the lock is left
  const locked = guard.begin('10.0.3.1', 'frank');
  assert.equal(!locked.ok && locked.reason, 'locked');
  assert.ok(!locked.ok && locked.retryAfterSeconds > 0 && locked.retryAfterSeconds <= LOGIN_LIMITS.lockMs / 1000);
  assert.ok(guard.begin('10.0.3.2', 'frank').ok, 'another address is not locked out');
  assert.deepEqual(guard.lockouts(), [{ account: 'frank', addresses: ['10.0.3.1'] }]);
  assert.equal(guard.unlock('frank'), 1);
  assert.ok(guard.begin('10.0.3.1', 'frank').ok, 'unlocked at once');
  assert.deepEqual(guard.lockouts(), []);
  for (let i = 0; i < LOGIN_LIMITS.perAccount - 1; i += 1) guard.failed(begin('10.0.4.1', 'gina'));
  now += LOGIN_LIMITS.lockMs + 1;
  assert.equal(guard.failed(begin('10.0.4.1', 'gina')).locked, true, 'failures in a row count until a success, however long apart');
  now += LOGIN_LIMITS.lockMs + 1;
  assert.ok(guard.begin('10.0.4.1', 'gina').ok, 'the lock expires');
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
