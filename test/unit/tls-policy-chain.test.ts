import assert from 'node:assert/strict';
import { test } from 'node:test';
import { destinationControl, requirementForMx, strictest, type TlsPolicy } from '../../src/engine/delivery/policy/chain.js';
import { requireTlsPolicy } from '../../src/engine/delivery/policy/requireTls.js';
import { requirementFor } from '../../src/engine/delivery/policy/tlsDecision.js';
import { DEST_TLS } from '../../src/store/destinations/destinations.js';

const mx1 = { domain: 'example.org', mxHost: 'mx1.example.org' };
const mx2 = { domain: 'example.org', mxHost: 'mx2.example.org' };
const VERIFY = ['none', 'try', 'must'];

test('the destination control alone gives the setting\'s requirement, for every MX', async () => {
  for (const setting of DEST_TLS) {
    const req = await requirementForMx(setting, [destinationControl(setting)], mx1);
    assert.deepEqual(req, { ...requirementFor(setting), by: ['destination control'], notes: [] }, setting);
  }
});

test('combining two requirements never weakens either (every pair of settings)', () => {
  for (const a of DEST_TLS) {
    for (const b of DEST_TLS) {
      const ra = requirementFor(a);
      const rb = requirementFor(b);
      const both = strictest(ra, rb);
      const label = `${a} + ${b}`;
      for (const r of [ra, rb]) {
        assert.ok(both.attempt || !r.attempt, `${label}: attempt`);
        assert.ok(both.mustEncrypt || !r.mustEncrypt, `${label}: mustEncrypt`);
        assert.ok(VERIFY.indexOf(both.verify) >= VERIFY.indexOf(r.verify), `${label}: verify`);
        assert.ok(both.identity === 'hosted' || r.identity === 'standard', `${label}: identity`);
      }
      assert.ok(!both.mustEncrypt || both.attempt, `${label}: what must be encrypted is attempted`);
    }
  }
});

test('a later policy raises the requirement per MX, and cannot lower it', async () => {
  // Stands in for DANE: it has TLSA-like knowledge of mx2 only.
  const mx2Only: TlsPolicy = { name: 'DANE', demand: (mx) => (mx.mxHost === 'mx2.example.org' ? { mustEncrypt: true, verify: 'must' } : null) };
  const chain = [destinationControl('preferred'), mx2Only];
  assert.deepEqual(await requirementForMx('preferred', chain, mx1), { ...requirementFor('preferred'), by: ['destination control'], notes: [] });
  const raised = await requirementForMx('preferred', chain, mx2);
  assert.equal(raised.mustEncrypt, true);
  assert.equal(raised.verify, 'must');
  assert.deepEqual(raised.by, ['destination control', 'DANE']);
  assert.equal(raised.setting, 'preferred', 'the log still names the destination\'s setting');

  const lax: TlsPolicy = { name: 'MTA-STS', demand: () => ({ attempt: false, mustEncrypt: false, verify: 'none', identity: 'standard' }) };
  const kept = await requirementForMx('required-verify-hosted', [destinationControl('required-verify-hosted'), lax], mx1);
  assert.deepEqual({ ...kept, by: [] }, { ...requirementFor('required-verify-hosted'), by: [], notes: [] }, 'nothing was weakened');

  // A refusal (DANE: a failed lookup) stays, whatever a later policy says.
  const refusing: TlsPolicy = { name: 'DANE', demand: () => ({ refuse: 'lookup failed' }) };
  const refused = await requirementForMx('preferred', [destinationControl('preferred'), refusing, lax], mx1);
  assert.equal(refused.refuse, 'lookup failed');
});

test('REQUIRETLS: a host from a DNSSEC-secure MX lookup or named by MTA-STS in enforce mode qualifies, with verified TLS; any other is refused', async () => {
  const target = (mx: 'secure' | 'insecure') => ({ host: '192.0.2.1', port: 25, mxHost: 'mx1.example.org', dnssec: { mx, address: 'insecure' as const, canonical: 'mx1.example.org' } });
  const secure = await requirementForMx('preferred', [destinationControl('preferred'), requireTlsPolicy('example.org')], { ...mx1, target: target('secure') });
  assert.equal(secure.refuse, undefined);
  assert.deepEqual([secure.mustEncrypt, secure.verify], [true, 'must'], 'TLS with a verified certificate, whatever the destination says');

  const insecure = await requirementForMx('required-verify', [destinationControl('required-verify'), requireTlsPolicy('example.org')], { ...mx1, target: target('insecure') });
  assert.equal(insecure.refusedBy, 'REQUIRETLS');
  assert.match(insecure.refuse ?? '', /not DNSSEC-secure and no MTA-STS policy in enforce mode names MX\(mx1\.example\.org\)/);

  // MTA-STS in testing mode says nothing about the host; in enforce mode it vouches for it.
  const testing: TlsPolicy = { name: 'MTA-STS', demand: () => ({ note: 'testing mode' }) };
  const enforce: TlsPolicy = { name: 'MTA-STS', demand: () => ({ attempt: true, mustEncrypt: true, verify: 'must', vouchesForMx: true }) };
  assert.equal((await requirementForMx('preferred', [destinationControl('preferred'), testing, requireTlsPolicy('example.org')], { ...mx1, target: target('insecure') })).refusedBy, 'REQUIRETLS');
  const vouched = await requirementForMx('preferred', [destinationControl('preferred'), enforce, requireTlsPolicy('example.org')], { ...mx1, target: target('insecure') });
  assert.equal(vouched.refuse, undefined);
  assert.equal(vouched.mxVouchedBy, 'MTA-STS');
});
