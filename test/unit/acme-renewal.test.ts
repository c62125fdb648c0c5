import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { RenewalService } from '../../src/engine/acme/renewal.js';
import type { AcmeService } from '../../src/engine/acme/service.js';
import type { Alert } from '../../src/engine/alerts/alerts.js';
import { createSelfSigned } from '../../src/pki/generate.js';
import { renewAcmeProfile } from '../../src/store/certificates/acme.js';
import { dataPaths } from '../../src/store/paths.js';
import { type Config, defaultConfig } from '../../src/store/schema.js';

/**
 * When the engine renews by itself (every minute, renewDue): the scheduling alone, with a clock
 * the test moves and a stand-in for the CA (the CA end to end is test/interop/acme*.test.ts).
 */
const homes: string[] = [];
after(() => Promise.all(homes.map((h) => rm(h, { recursive: true, force: true }))));

const DAY = 86_400_000;
const KEY_REF = 'a'.repeat(64);

async function lab() {
  const home = await mkdtemp(path.join(os.tmpdir(), 'mxg-renewal-'));
  homes.push(home);
  const issued = await createSelfSigned({ commonName: 'mx1.example.com', country: 'JP' }, 30, 'ecdsa-p256');
  const start = Date.parse(new X509Certificate(issued.certificatePem).validFrom);
  let config: Config = {
    ...defaultConfig(),
    certificates: [
      { name: 'mx1', certificate: issued.certificatePem, intermediates: [], keyRef: KEY_REF, csr: null, demo: false, acme: { names: ['mx1.example.com'], key: 'ecdsa-p256', challenge: 'http-01', reuseKey: true } },
    ],
  };
  config.acme = { account: { directory: 'https://127.0.0.1:1/dir', email: 'a@example.com', keyRef: KEY_REF, url: 'https://127.0.0.1:1/acct/1' }, retryMinutes: 10, alertAfter: 2 };
  const clock = { now: start };
  const orders: number[] = [];
  const alerts: Alert[] = [];
  const ca = { fail: false, window: undefined as { start: string; end: string; retryAfterSeconds: number } | undefined, infoAsked: 0, renewed: await createSelfSigned({ commonName: 'mx1.example.com', country: 'JP' }, 90, 'ecdsa-p256') };
  const acme = {
    order: async () => {
      orders.push(clock.now);
      if (ca.fail) throw new Error('ACME server 127.0.0.1:1: cannot connect');
      return { certificate: ca.renewed.certificatePem, intermediates: [], notAfter: 'later' };
    },
    renewalInfo: async () => {
      ca.infoAsked += 1;
      return ca.window;
    },
  } as unknown as AcmeService;
  const commits: string[] = [];
  const service = new RenewalService({
    paths: dataPaths(home),
    log: { info: () => undefined, warning: () => undefined },
    acme,
    config: () => config,
    dns: () => {
      throw new Error('no DNS in this test');
    },
    commit: async (name, issued, comment) => {
      config = renewAcmeProfile(config, name, issued);
      commits.push(comment);
      return commits.length;
    },
    alert: async (a) => void alerts.push(a),
    now: () => clock.now,
  });
  return { service, clock, start, orders, alerts, ca, commits, config: () => config };
}

test('renewDue orders nothing before two thirds of the lifetime, renews once it is due, and not again for the new certificate', async () => {
  const { service, clock, start, orders, commits, config, ca } = await lab();
  clock.now = start + 19 * DAY;
  await service.renewDue();
  assert.deepEqual(orders, [], 'day 19 of 30: not due');
  clock.now = start + 21 * DAY;
  await service.renewDue();
  assert.equal(orders.length, 1, 'day 21 of 30: renewed');
  assert.deepEqual(commits, ['ACME renewal of mx1 (same key)']);
  assert.equal(config().certificates[0]!.certificate, ca.renewed.certificatePem);
  await service.renewDue();
  assert.equal(orders.length, 1, 'the new certificate (90 days) is not due on day 21');
});

test('a failed renewal is not tried again before its back-off (doubling), and the alert comes after the configured number of failures', async () => {
  const { service, clock, start, orders, alerts, ca, commits } = await lab();
  ca.fail = true;
  clock.now = start + 21 * DAY;
  await service.renewDue();
  assert.equal(orders.length, 1);
  assert.equal(alerts.length, 0, 'one failure: no alert yet (alert after 2)');
  clock.now += 9 * 60_000;
  await service.renewDue();
  assert.equal(orders.length, 1, '9 minutes later: still backing off (10 minutes)');
  clock.now += 2 * 60_000;
  await service.renewDue();
  assert.equal(orders.length, 2, '11 minutes later: tried again');
  assert.equal(alerts.length, 1);
  assert.match(alerts[0]!.summary, /The certificate of profile mx1 could not be renewed/);
  assert.match((await service.status())[0]!.lastError ?? '', /cannot connect/);
  clock.now += 19 * 60_000;
  await service.renewDue();
  assert.equal(orders.length, 2, 'the second wait is 20 minutes');
  ca.fail = false;
  clock.now += 2 * 60_000;
  await service.renewDue();
  assert.equal(orders.length, 3);
  assert.equal(commits.length, 1, 'renewed once the CA is back');
  assert.equal((await service.status())[0]!.failures, 0);
});

test('the CA\'s renewal information (RFC 9773) moves the renewal into its window, is asked again only after its Retry-After, and a CA without it leaves two thirds', async () => {
  const { service, clock, start, orders, ca } = await lab();
  clock.now = start + 2 * DAY;
  await service.renewDue();
  assert.equal(ca.infoAsked, 1);
  assert.equal((await service.status())[0]!.dueBy, 'lifetime', 'a CA without renewal information');
  await service.renewDue();
  assert.equal(ca.infoAsked, 1, 'asked again a day later, not every minute');

  // A day on, the CA suggests renewing early (as before a revocation): days 4 to 5.
  ca.window = { start: new Date(start + 4 * DAY).toISOString(), end: new Date(start + 5 * DAY).toISOString(), retryAfterSeconds: 7200 };
  clock.now = start + 3 * DAY + 1000;
  await service.renewDue();
  assert.equal(ca.infoAsked, 2);
  const status = (await service.status())[0]!;
  assert.equal(status.dueBy, 'ari');
  assert.ok(Date.parse(status.due) >= start + 4 * DAY && Date.parse(status.due) < start + 5 * DAY, status.due);
  assert.deepEqual(orders, [], 'not before the moment picked');
  clock.now += 3600_000;
  await service.renewDue();
  assert.equal(ca.infoAsked, 2, 'Retry-After two hours: not asked again after one');
  assert.equal((await service.status())[0]!.due, status.due, 'the same window keeps the same moment');
  clock.now = start + 5 * DAY;
  await service.renewDue();
  assert.equal(orders.length, 1, 'renewed in the window, long before two thirds of the lifetime');
});
