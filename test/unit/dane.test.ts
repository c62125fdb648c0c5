import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { DnsLookup, DnsSecurity } from '../../src/engine/dns/client.js';
import { destinationControl, requirementForMx } from '../../src/engine/delivery/policy/chain.js';
import { daneDemand, daneHostState, danePolicy, type TlsaLookup } from '../../src/engine/delivery/policy/dane.js';
import type { Target } from '../../src/engine/delivery/route.js';
import { type Tlsa, usable, verifyDane } from '../../src/engine/tls/dane.js';
import { association, tlsaRecordsFor } from '../../src/pki/tlsa.js';
import { opensslChain } from '../pki-fixtures.js';

const chain = opensslChain();
const der = (pem: string) => new X509Certificate(pem).raw;
const leaf = new X509Certificate(chain.leaf);
const intermediate = new X509Certificate(chain.intermediate);
const root = new X509Certificate(chain.root);
const other = new X509Certificate(chain.otherRoot);
const sent = [der(chain.leaf), der(chain.intermediate)];
const rec = (usage: number, selector: number, matchingType: number, cert: X509Certificate): Tlsa => ({ usage, selector, matchingType, data: association(cert, selector, matchingType) });

test('DANE-EE(3): every selector and matching type of the server certificate matches; another key does not', async () => {
  for (const selector of [0, 1]) {
    for (const mtype of [0, 1, 2]) {
      const r = await verifyDane({ chain: sent, records: [rec(3, selector, mtype, leaf)], names: ['nothing.example'] });
      assert.ok(r.ok, `3 ${selector} ${mtype}: ${r.ok ? '' : r.reason}`);
      const wrong = await verifyDane({ chain: sent, records: [rec(3, selector, mtype, other)], names: ['mx.test.example'] });
      assert.equal(wrong.ok, false, `3 ${selector} ${mtype} of another certificate`);
    }
  }
});

test('DANE-EE(3) ignores names and expiry: an expired certificate for another name still matches', async () => {
  const r = await verifyDane({ chain: sent, records: [rec(3, 1, 1, leaf)], names: ['other.example'], now: new Date('2300-01-01') });
  assert.ok(r.ok);
});

test('DANE-TA(2): the issuing CA sent by the server is the anchor; the leaf name must match the TLSA base, MX host or domain', async () => {
  for (const selector of [0, 1]) {
    for (const mtype of [0, 1, 2]) {
      const r = await verifyDane({ chain: sent, records: [rec(2, selector, mtype, intermediate)], names: ['mx.test.example', 'test.example'] });
      assert.ok(r.ok, `2 ${selector} ${mtype}: ${r.ok ? '' : r.reason}`);
    }
  }
  const mismatch = await verifyDane({ chain: sent, records: [rec(2, 1, 1, intermediate)], names: ['mx.elsewhere.example', 'elsewhere.example'] });
  assert.equal(mismatch.ok, false);
  assert.match(mismatch.ok ? '' : mismatch.reason, /do not match mx\.elsewhere\.example or elsewhere\.example/);
});

test('DANE-TA(2): the anchor must be among the certificates the server sent; the chain to it must be in date', async () => {
  const notSent = await verifyDane({ chain: sent, records: [rec(2, 0, 1, root)], names: ['mx.test.example'] });
  assert.equal(notSent.ok, false, 'a root the server did not send is no anchor');
  const withRoot = await verifyDane({ chain: [...sent, der(chain.root)], records: [rec(2, 0, 1, root)], names: ['mx.test.example'] });
  assert.ok(withRoot.ok, withRoot.ok ? '' : withRoot.reason);
  const expired = await verifyDane({ chain: sent, records: [rec(2, 1, 1, intermediate)], names: ['mx.test.example'], now: new Date('2300-01-01') });
  assert.equal(expired.ok, false, 'DANE-TA checks validity, unlike DANE-EE');
  const leafAsAnchor = await verifyDane({ chain: sent, records: [rec(2, 1, 1, leaf)], names: ['mx.test.example'] });
  assert.equal(leafAsAnchor.ok, false, 'the server certificate itself is not a trust anchor');
});

test('any matching record is enough: a wrong record beside a right one still authenticates', async () => {
  const r = await verifyDane({ chain: sent, records: [rec(3, 1, 1, other), rec(2, 1, 1, other), rec(3, 1, 2, leaf)], names: ['x'] });
  assert.ok(r.ok);
  assert.ok(r.ok && r.matched.matchingType === 2);
});

test('usable records: DANE-TA and DANE-EE with known selector and matching type only (RFC 7672 §3.1)', () => {
  const d = Buffer.from('ab', 'hex');
  assert.equal(usable({ usage: 3, selector: 1, matchingType: 1, data: d }), true);
  assert.equal(usable({ usage: 2, selector: 0, matchingType: 0, data: d }), true);
  assert.equal(usable({ usage: 0, selector: 1, matchingType: 1, data: d }), false, 'PKIX-TA');
  assert.equal(usable({ usage: 1, selector: 1, matchingType: 1, data: d }), false, 'PKIX-EE');
  assert.equal(usable({ usage: 3, selector: 2, matchingType: 1, data: d }), false, 'unknown selector');
  assert.equal(usable({ usage: 3, selector: 1, matchingType: 3, data: d }), false, 'unknown matching type');
});

test('certconfig tlsa records agree with the openssl CLI (3 1 1 of the leaf, 2 1 1 of the issuer)', () => {
  const spkiHash = (pem: string, name: string) => {
    const file = path.join(chain.dir, `${name}.pem`);
    writeFileSync(file, pem);
    const pub = execFileSync('openssl', ['x509', '-in', file, '-pubkey', '-noout']);
    const spki = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'DER'], { input: pub });
    return createHash('sha256').update(spki).digest('hex');
  };
  const lines = tlsaRecordsFor(chain.leaf, [chain.intermediate]);
  assert.deepEqual(lines, [`_25._tcp.mx.test.example. IN TLSA 3 1 1 ${spkiHash(chain.leaf, 'l')}`, `_25._tcp.mx.test.example. IN TLSA 2 1 1 ${spkiHash(chain.intermediate, 'i')}`]);
});

// ---- The per-host decision (RFC 7672 §2.2), as a table: DNSSEC status at each step × mode ----

const target = (mx: DnsSecurity, address: DnsSecurity, canonical = 'mx.d.example'): Target => ({ host: '127.0.0.1', port: 25, mxHost: 'mx.d.example', dnssec: { mx, address, canonical } });
const answer = (security: DnsSecurity, records: Tlsa[] = [], rcode = 'NOERROR'): DnsLookup => ({
  security,
  rcode: security === 'bogus' ? 'SERVFAIL' : rcode,
  records: records.map((r) => ({ type: 'TLSA', name: 'x', data: { usage: r.usage, selector: r.selector, matchingType: r.matchingType, certificate: r.data } }) as never),
  canonical: 'x',
  ...(security === 'bogus' ? { reason: 'SERVFAIL' } : {}),
});
const tlsaFrom = (table: Record<string, DnsLookup>): TlsaLookup & { asked: string[] } => {
  const asked: string[] = [];
  return Object.assign(async (owner: string) => {
    asked.push(owner);
    return table[owner] ?? answer('secure', [], 'NXDOMAIN');
  }, { asked });
};
const good = rec(3, 1, 1, leaf);
const unusableOnly = rec(1, 1, 1, leaf);

type Row = [string, Target, DnsLookup | undefined, 'dane' | 'none' | 'bogus' | 'unusable', { opportunistic: string; mandatory: string }];
// expected per mode: dane = authenticate by DANE, tls-only = TLS required without authentication, setting = the TLS setting decides, refuse = host not used
const rows: Row[] = [
  ['MX insecure', target('insecure', 'secure'), answer('secure', [good]), 'none', { opportunistic: 'setting', mandatory: 'refuse' }],
  ['address bogus', target('secure', 'bogus'), answer('secure', [good]), 'bogus', { opportunistic: 'refuse', mandatory: 'refuse' }],
  ['address insecure', target('secure', 'insecure'), answer('secure', [good]), 'none', { opportunistic: 'setting', mandatory: 'refuse' }],
  ['TLSA bogus', target('secure', 'secure'), answer('bogus'), 'bogus', { opportunistic: 'refuse', mandatory: 'refuse' }],
  ['TLSA insecure', target('secure', 'secure'), answer('insecure', [good]), 'none', { opportunistic: 'setting', mandatory: 'refuse' }],
  ['TLSA secure NXDOMAIN', target('secure', 'secure'), undefined, 'none', { opportunistic: 'setting', mandatory: 'refuse' }],
  ['TLSA secure NODATA', target('secure', 'secure'), answer('secure', []), 'none', { opportunistic: 'setting', mandatory: 'refuse' }],
  ['TLSA secure, usable', target('secure', 'secure'), answer('secure', [good, unusableOnly]), 'dane', { opportunistic: 'dane', mandatory: 'dane' }],
  ['TLSA secure, all unusable', target('secure', 'secure'), answer('secure', [unusableOnly]), 'unusable', { opportunistic: 'tls-only', mandatory: 'refuse' }],
];

for (const [name, t, tlsa, kind, expect] of rows) {
  test(`DANE table: ${name}`, async () => {
    const state = await daneHostState(t, 'd.example', tlsaFrom(tlsa ? { '_25._tcp.mx.d.example': tlsa } : {}));
    assert.equal(state.kind, kind);
    for (const mode of ['opportunistic', 'mandatory'] as const) {
      // Preferred is the weakest setting DANE can be combined with: DANE must make it strict.
      const req = await requirementForMx('preferred', [destinationControl('preferred'), { name: 'DANE', demand: () => daneDemand(mode, state, t.mxHost) }], { domain: 'd.example', mxHost: t.mxHost, target: t });
      const got = req.refuse ? 'refuse' : req.dane ? 'dane' : req.mustEncrypt ? 'tls-only' : 'setting';
      assert.equal(got, expect[mode], `${mode}: ${req.refuse ?? req.notes.map((n) => n.text).join('; ')}`);
      if (got === 'dane') assert.equal(req.verify, 'must');
      if (got === 'dane' || got === 'tls-only') assert.equal(req.mustEncrypt, true, 'never in clear where TLSA records exist');
    }
  });
}

test('DANE table: only usable records are kept for matching', async () => {
  const state = await daneHostState(target('secure', 'secure'), 'd.example', tlsaFrom({ '_25._tcp.mx.d.example': answer('secure', [good, unusableOnly]) }));
  assert.ok(state.kind === 'dane');
  assert.deepEqual(state.kind === 'dane' && state.requirement.records.map((r) => r.usage), [3]);
  assert.deepEqual(state.kind === 'dane' && state.requirement.names, ['mx.d.example', 'd.example']);
});

test('CNAME (RFC 7672 §2.2.2): the expanded name is the TLSA base first; after a secure denial there, the original name', async () => {
  const viaCname = target('secure', 'secure', 'real.host.example');
  const first = tlsaFrom({ '_25._tcp.real.host.example': answer('secure', [good]), '_25._tcp.mx.d.example': answer('secure', [rec(3, 0, 1, leaf)]) });
  const s1 = await daneHostState(viaCname, 'd.example', first);
  assert.ok(s1.kind === 'dane' && s1.requirement.base === 'real.host.example');
  assert.deepEqual(first.asked, ['_25._tcp.real.host.example']);
  const second = tlsaFrom({ '_25._tcp.mx.d.example': answer('secure', [good]) });
  const s2 = await daneHostState(viaCname, 'd.example', second);
  assert.ok(s2.kind === 'dane' && s2.requirement.base === 'mx.d.example');
  assert.deepEqual(second.asked, ['_25._tcp.real.host.example', '_25._tcp.mx.d.example']);
  const bogusFirst = await daneHostState(viaCname, 'd.example', tlsaFrom({ '_25._tcp.real.host.example': answer('bogus'), '_25._tcp.mx.d.example': answer('secure', [good]) }));
  assert.equal(bogusFirst.kind, 'bogus', 'a failed lookup at the expanded name is not a denial');
});

test('the TLSA owner uses the port of the route (a next hop on another port)', async () => {
  const lookup = tlsaFrom({});
  await daneHostState({ ...target('secure', 'secure'), port: 2525 }, 'd.example', lookup);
  assert.deepEqual(lookup.asked, ['_2525._tcp.mx.d.example']);
});

test('an address literal as the host has no TLSA name: no DANE (Opportunistic), not used (Mandatory)', async () => {
  const state = await daneHostState({ ...target('secure', 'secure'), mxHost: '127.0.0.1' }, 'd.example', tlsaFrom({}));
  assert.equal(state.kind, 'none');
  assert.ok(daneDemand('mandatory', state, '127.0.0.1')?.refuse);
});

test('the DANE policy starts the TLSA lookups of all hosts in prepare, before any demand', async () => {
  const lookup = tlsaFrom({});
  const policy = danePolicy('opportunistic', 'd.example', lookup);
  const a = target('secure', 'secure');
  const b = { ...target('secure', 'secure'), mxHost: 'mx2.d.example', dnssec: { mx: 'secure' as const, address: 'secure' as const, canonical: 'mx2.d.example' } };
  policy.prepare!([a, b]);
  assert.deepEqual(lookup.asked, ['_25._tcp.mx.d.example', '_25._tcp.mx2.d.example']);
  await policy.demand({ domain: 'd.example', mxHost: 'mx2.d.example', target: b }, { setting: 'preferred', attempt: true, mustEncrypt: false, verify: 'none', identity: 'standard', by: [], notes: [] });
  assert.equal(lookup.asked.length, 2, 'demand reuses the lookup prepare started');
});

test('the DANE judge: a matching chain authenticates, a wrong one fails, a host without DANE is not judged', async () => {
  const policy = danePolicy('opportunistic', 'd.example', tlsaFrom({}));
  const base = { setting: 'preferred' as const, attempt: true, mustEncrypt: true, verify: 'must' as const, identity: 'standard' as const, by: [], notes: [] };
  const dane = { base: 'mx.d.example', owner: '_25._tcp.mx.d.example', names: ['mx.d.example'], records: [good] };
  const mx = { domain: 'd.example', mxHost: 'mx.d.example' };
  assert.deepEqual(await policy.judge!(mx, { ...base, dane }, { chain: sent, protocol: 'TLSv1.3', cipher: 'x' }), { ok: true, by: 'DANE', how: 'TLSA 3 1 1 matches the server certificate' });
  const wrong = await policy.judge!(mx, { ...base, dane: { ...dane, records: [rec(3, 1, 1, other)] } }, { chain: sent, protocol: 'TLSv1.3', cipher: 'x' });
  assert.equal(wrong?.ok, false);
  assert.equal(await policy.judge!(mx, base, { chain: sent, protocol: 'TLSv1.3', cipher: 'x' }), null);
});
