import assert from 'node:assert/strict';
import { test } from 'node:test';
import { destinationControl, requirementForMx, strictest, type TlsPolicy } from '../../src/engine/delivery/policy/chain.js';
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
