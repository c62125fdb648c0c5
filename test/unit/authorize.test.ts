import assert from 'node:assert/strict';
import { test } from 'node:test';
import { admit, checkCommit } from '../../src/engine/authorize.js';
import { ControlError } from '../../src/control/dispatch.js';
import type { Principal } from '../../src/control/protocol.js';
import { defaultConfig, validateConfig } from '../../src/store/schema.js';

/** The engine's one decision of who may do what, for the shell, SSH and the GUI alike. */
const hash = (c: string) => `scrypt$15$8$1$${c.repeat(24)}$${c.repeat(44)}`;
const from = validateConfig({
  ...defaultConfig(),
  users: [
    { name: 'boss', role: 'administrator', passwordHash: hash('A') },
    { name: 'oper', role: 'operator', passwordHash: hash('B') },
    { name: 'viewer', role: 'guest', passwordHash: hash('C') },
  ],
});
const as = (name: string): Principal => ({ kind: 'account', name });
const local: Principal = { kind: 'local', name: 'root' };
const forbidden = (pattern: RegExp) => (e: unknown) => e instanceof ControlError && e.code === 'forbidden' && pattern.test(e.message);

test('commits: guests commit nothing, operators nothing that touches certificates, accounts or SSH settings', () => {
  const route = { ...from, smtpRoutes: [{ domain: 'example.com', hosts: [{ host: 'mx.example.com', port: 25 }] }] } as typeof from;
  const ssh = { ...from, ssh: { ...from.ssh, passwordAuth: false } };
  assert.throws(() => checkCommit(as('viewer'), from, route), forbidden(/Your account viewer \(guest\) may not commit changes; that needs the operator role/));
  assert.doesNotThrow(() => checkCommit(as('oper'), from, route));
  assert.throws(() => checkCommit(as('oper'), from, ssh), forbidden(/may not commit changes to the SSH settings; that needs the administrator role/));
  assert.doesNotThrow(() => checkCommit(as('boss'), from, ssh));
  assert.doesNotThrow(() => checkCommit(local, from, ssh), 'the local shell is not limited');
});

test('a rollback is a whole configuration: an operator may not commit one that changes accounts (its own role included)', () => {
  const promoted = { ...from, users: from.users.map((u) => (u.name === 'oper' ? { ...u, role: 'administrator' as const } : u)) };
  assert.throws(() => checkCommit(as('oper'), from, promoted), forbidden(/oper \(operator\) may not commit changes to accounts and their SSH keys/));
  const otherPassword = { ...from, users: from.users.map((u) => (u.name === 'boss' ? { ...u, passwordHash: hash('D') } : u)) };
  assert.throws(() => checkCommit(as('viewer'), from, otherPassword), forbidden(/may not commit changes/), "a guest may not change another account's password");
  const ownPassword = { ...from, users: from.users.map((u) => (u.name === 'viewer' ? { ...u, passwordHash: hash('D') } : u)) };
  assert.doesNotThrow(() => checkCommit(as('viewer'), from, ownPassword), 'anyone may change their own password');
  const ownPasswordAndMore = { ...ownPassword, smtpRoutes: [{ domain: 'example.com', hosts: [{ host: 'mx.example.com', port: 25 }] }] } as typeof from;
  assert.throws(() => checkCommit(as('viewer'), from, ownPasswordAndMore), forbidden(/viewer \(guest\) may not commit changes/));
});

test('operations: the role is read from the configuration at each request; a deleted account may do nothing', () => {
  assert.throws(() => admit(from, as('viewer'), 'deliverynow'), forbidden(/viewer \(guest\) may not run deliverynow; that needs the operator role/));
  assert.throws(() => admit(from, as('viewer'), 'bounce'), forbidden(/may not run bouncerecipients/));
  assert.doesNotThrow(() => admit(from, as('viewer'), 'status'));
  assert.doesNotThrow(() => admit(from, as('oper'), 'deliverynow'));
  assert.throws(() => admit(from, as('oper'), 'unlock'), forbidden(/that needs the administrator role/));
  assert.throws(() => admit(from, as('boss'), 'stop'), forbidden(/may not stop the engine; only the local shell may/));
  assert.doesNotThrow(() => admit(from, local, 'stop'));
  assert.throws(() => admit(from, as('ghost'), 'status'), forbidden(/The account ghost no longer exists/));
  const demoted = { ...from, users: from.users.map((u) => (u.name === 'boss' ? { ...u, role: 'guest' as const } : u)) };
  assert.throws(() => admit(demoted, as('boss'), 'deliverynow'), forbidden(/boss \(guest\)/), 'the role now, not the role at login');
});

test('who may read the metrics is an administrator\'s to change: a token made by an operator is refused at commit', () => {
  const withToken = { ...from, metrics: { ...from.metrics, tokens: [{ id: 'abcdef12', sha256: 'a'.repeat(64), created: '2026-12-06T00:00:00Z' }] } };
  assert.throws(() => checkCommit(as('oper'), from, withToken), forbidden(/may not commit changes to who may read the metrics; that needs the administrator role/));
  assert.doesNotThrow(() => checkCommit(as('boss'), from, withToken));
});
