import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { test } from 'node:test';
import { parseTrustAnchor, ROOT_ANCHORS } from '../../src/store/network/trustAnchors.js';
import { type DnskeyData, dsDigest, keyTag, verifySignature } from '../../src/engine/dns/dnssec/crypto.js';
import { MAX_NSEC3_HASHES, nsec3Denial, nsec3Hash } from '../../src/engine/dns/dnssec/denial.js';
import { nameWire, type Rr, type RrSet, rrsetsOf, type RrsigData, signedData } from '../../src/engine/dns/dnssec/records.js';
import { type Fetch, MAX_SIGNATURE_CHECKS, Validator } from '../../src/engine/dns/dnssec/validator.js';

// The IANA root KSKs as published (public keys; Debian's dns-root-data has the same lines).
const ROOT_KSKS = [
  '. IN DNSKEY 257 3 8 AwEAAaz/tAm8yTn4Mfeh5eyI96WSVexTBAvkMgJzkKTOiW1vkIbzxeF3+/4RgWOq7HrxRixHlFlExOLAJr5emLvN7SWXgnLh4+B5xQlNVz8Og8kvArMtNROxVQuCaSnIDdD5LKyWbRd2n9WGe2R8PzgCmr3EgVLrjyBxWezF0jLHwVN8efS3rCj/EWgvIWgb9tarpVUDK/b58Da+sqqls3eNbuv7pr+eoZG+SrDK6nWeL3c6H5Apxz7LjVc1uTIdsIXxuOLYA4/ilBmSVIzuDWfdRUfhHdY6+cn8HFRm+2hM8AnXGXws9555KrUB5qihylGa8subX2Nn6UwNR1AkUTV74bU=',
  '. IN DNSKEY 257 3 8 AwEAAa96jeuknZlaeSrvyAJj6ZHv28hhOKkx3rLGXVaC6rXTsDc449/cidltpkyGwCJNnOAlFNKF2jBosZBU5eeHspaQWOmOElZsjICMQMC3aeHbGiShvZsx4wMYSjH8e7Vrhbu6irwCzVBApESjbUdpWWmEnhathWu1jo+siFUiRAAxm9qyJNg/wOZqqzL/dL/q8PkcRU5oUKEpUge71M3ej2/7CPqpdVwuMoTvoB+ZOT4YeGyxMvHmbrxlFzGOHOijtzN+u1TQNatX2XBuzZNQ1K+s2CXkPIZo7s6JgZyvaBevYtxPvYLw4z9mR7K2vaF18UYH9Z9GNUUeayffKC73PYc=',
];

test('the built-in root anchors are the DS records of the IANA root KSKs 20326 and 38696', () => {
  for (const [i, text] of ROOT_KSKS.entries()) {
    const k = parseTrustAnchor(text);
    assert.equal(k.kind, 'DNSKEY');
    if (k.kind !== 'DNSKEY') return;
    const ds = ROOT_ANCHORS[i]!;
    assert.equal(k.keyTag, ds.keyTag);
    assert.ok(ds.kind === 'DS' && dsDigest(nameWire(''), k, 2)!.equals(ds.digest), `DS ${ds.keyTag} is the digest of its key`);
  }
});

test('trust anchors in presentation form; anything else is refused with the reason', () => {
  const ds = parseTrustAnchor('example. 3600 IN DS 12345 13 2 ABCD01');
  assert.deepEqual(ds.kind === 'DS' && [ds.zone, ds.keyTag, ds.algorithm, ds.digestType, ds.digest.toString('hex')], ['example', 12345, 13, 2, 'abcd01']);
  assert.throws(() => parseTrustAnchor('example. IN DS 12345 13 2 XYZ'), /is not a trust anchor: a DS record is TAG ALGORITHM DIGEST-TYPE HEX/);
  assert.throws(() => parseTrustAnchor('example. IN DNSKEY 257 2 13 AAAA'), /a DNSKEY record is FLAGS 3 ALGORITHM BASE64/);
  assert.throws(() => parseTrustAnchor('example. IN A 192.0.2.1'), /give a DS or a DNSKEY record/);
});

test('NSEC3 hashes as RFC 5155 Appendix A lists them', () => {
  const salt = Buffer.from('aabbccdd', 'hex');
  assert.equal(nsec3Hash('example', salt, 12), '0p9mhaveqvm6t7vbl5lop2u3t2rp3tom');
  assert.equal(nsec3Hash('a.example', salt, 12), '35mthgpgcu1qg68fab165klnsnk3dpvl');
});

/** A small zone signed here with Ed25519 (crafted answers: the lab test checks real signers). */
function zone(name: string) {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const key: DnskeyData = { flags: 257, algorithm: 15, key: Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url') };
  const now = Math.floor(Date.now() / 1000);
  const signRrset = (records: Rr[], opts: { expiration?: number; tag?: number } = {}): Rr => {
    const set = rrsetsOf(records)[0]!;
    const sig: RrsigData = { typeCovered: set.type, algorithm: 15, labels: set.name.split('.').length, originalTTL: 300, expiration: opts.expiration ?? now + 3600, inception: now - 3600, keyTag: opts.tag ?? keyTag(key), signersName: name, signature: Buffer.alloc(0) };
    sig.signature = sign(null, signedData(set, sig), privateKey);
    return { name: set.name, type: 'RRSIG', ttl: 300, data: sig };
  };
  const dnskeys: Rr[] = [{ name, type: 'DNSKEY', ttl: 300, data: key }];
  return { key, dnskeys, signRrset, anchor: { zone: name, kind: 'DNSKEY' as const, keyTag: keyTag(key), ...key } };
}

const answer = (answers: Rr[]) => ({ rcode: 'NOERROR', answers, authorities: [] as Rr[] });

test('a signed answer is secure; the same answer stripped of its RRSIG, or past its expiry, is bogus and says why', async () => {
  const z = zone('trap.test');
  const a: Rr[] = [{ name: 'mx.trap.test', type: 'A', ttl: 300, data: '192.0.2.1' }];
  const serve = (rr: Rr[]): Fetch => async (_n, type) => answer(type === 'DNSKEY' ? [...z.dnskeys, z.signRrset(z.dnskeys)] : rr);
  const ok = await new Validator([z.anchor], serve([...a, z.signRrset(a)])).lookup('mx.trap.test', 'A');
  assert.equal(ok.security, 'secure', ok.reason);
  assert.match(ok.chain.join('\n'), /mx\.trap\.test A: RRSIG by trap\.test key \d+ \(ED25519\)/);
  const stripped = await new Validator([z.anchor], serve(a)).lookup('mx.trap.test', 'A');
  assert.equal(stripped.security, 'bogus');
  assert.match(stripped.reason!, /does the resolver strip RRSIGs\?/);
  const expired = await new Validator([z.anchor], serve([...a, z.signRrset(a, { expiration: Math.floor(Date.now() / 1000) - 86_400 })])).lookup('mx.trap.test', 'A');
  assert.equal(expired.security, 'bogus');
  assert.match(expired.reason!, /^RRSIG for mx\.trap\.test A expired \d{4}-\d\d-\d\d$/);
  const tampered = await new Validator([z.anchor], serve([{ ...a[0]!, data: '192.0.2.66' }, z.signRrset(a)])).lookup('mx.trap.test', 'A');
  assert.match(tampered.reason!, /RRSIG for mx\.trap\.test A does not verify with key/);
  assert.equal(verifySignature(z.key, Buffer.from('x'), Buffer.alloc(64)), false);
});

test('KeyTrap: many keys with one key tag and many signatures cost a bounded number of checks, and the answer is bogus', async () => {
  const z = zone('trap.test');
  // 60 more keys with the key tag of the real one (the last two octets fix the checksum), 60 signatures naming it.
  // The tag folds its carry back in, so the fixing word may be one less than the difference (without
  // trying both, a real key with a small tag made this loop run for ever).
  const tag = keyTag(z.key);
  const colliding: Rr[] = [];
  for (let i = 0; colliding.length < 60; i++) {
    assert.ok(i < 10_000, 'keys with the same tag are found');
    const key = Buffer.alloc(32, (i % 255) + 1);
    key.writeUInt16BE(i, 0);
    key.writeUInt16BE(0, 30);
    const base = keyTag({ ...z.key, key });
    for (const less of [0, 1]) {
      key.writeUInt16BE((tag - base - less + 0x20000) % 0x10000, 30);
      if (keyTag({ ...z.key, key }) === tag) {
        colliding.push({ name: 'trap.test', type: 'DNSKEY', ttl: 300, data: { flags: 256, algorithm: 15, key: Buffer.from(key) } });
        break;
      }
    }
  }
  const dnskeys = [...z.dnskeys, ...colliding];
  const a: Rr[] = [{ name: 'mx.trap.test', type: 'A', ttl: 300, data: '192.0.2.1' }];
  const bad = Array.from({ length: 60 }, () => ({ ...z.signRrset(a), data: { ...(z.signRrset(a).data as RrsigData), signature: Buffer.alloc(64, 7) } }));
  let fetches = 0;
  const validator = new Validator([z.anchor], async (_n, type) => {
    fetches++;
    return answer(type === 'DNSKEY' ? [...dnskeys, z.signRrset(dnskeys)] : [...a, ...bad]);
  });
  const result = await validator.lookup('mx.trap.test', 'A');
  assert.equal(result.security, 'bogus');
  assert.ok(fetches <= 2);
  // A chain of CNAMEs, each with those signatures: the lookup's whole budget runs out, and it stops.
  const chain: Rr[] = [];
  for (let i = 0; i < 6; i++) {
    const cname: Rr[] = [{ name: `c${i}.trap.test`, type: 'CNAME', ttl: 300, data: i === 5 ? 'mx.trap.test' : `c${i + 1}.trap.test` }];
    const sig = z.signRrset(cname).data as RrsigData;
    chain.push(...cname, ...Array.from({ length: 60 }, () => ({ name: `c${i}.trap.test`, type: 'RRSIG', ttl: 300, data: { ...sig, signature: Buffer.alloc(64, 7) } })));
  }
  const chained = await new Validator([z.anchor], async (_n, type) => answer(type === 'DNSKEY' ? [...dnskeys, z.signRrset(dnskeys)] : [...chain, ...a, ...bad])).lookup('c0.trap.test', 'A');
  assert.equal(chained.security, 'bogus');
  assert.match(chained.reason!, new RegExp(`more than ${MAX_SIGNATURE_CHECKS} signature checks for one lookup \\(a hostile zone\\?\\)`));
  // At most 8 signatures × 4 keys of one tag are tried for the RRset (the lookup's budget is MAX_SIGNATURE_CHECKS).
  assert.match(result.reason!, /RRSIG for mx\.trap\.test A does not verify with key \d+ of trap\.test/);
});

test('a resolver that does not answer makes the lookup indeterminate, never insecure', async () => {
  const z = zone('trap.test');
  const result = await new Validator([z.anchor], async () => {
    throw new Error('timed out');
  }).lookup('mx.trap.test', 'A');
  assert.deepEqual([result.security, result.reason], ['indeterminate', 'mx.trap.test A: timed out']);
  const dnskeyFails = await new Validator([z.anchor], async (_n, type) => {
    if (type === 'DNSKEY') throw new Error('timed out');
    return answer([{ name: 'mx.trap.test', type: 'A', ttl: 300, data: '192.0.2.1' }, z.signRrset([{ name: 'mx.trap.test', type: 'A', ttl: 300, data: '192.0.2.1' }])]);
  }).lookup('mx.trap.test', 'A');
  assert.equal(dnskeyFails.security, 'indeterminate');
  const outside = await new Validator([z.anchor], async () => answer([{ name: 'mx.other.test', type: 'A', ttl: 300, data: '192.0.2.1' }])).lookup('mx.other.test', 'A');
  assert.deepEqual([outside.security, outside.reason], ['insecure', 'no trust anchor covers mx.other.test']);
});

test('an NSEC3 flood (CVE-2023-50868) costs a bounded number of hashes: a deep name under many NSEC3 records stops at the limit', () => {
  const salt = Buffer.from('ab', 'hex');
  const nsec3 = (owner: string, next: string): RrSet => ({
    name: `${owner}.flood.test`,
    type: 'NSEC3',
    records: [{ name: `${owner}.flood.test`, type: 'NSEC3', data: { algorithm: 1, flags: 0, iterations: 150, salt, nextDomain: Buffer.from(next, 'hex'), rrtypes: ['A'] } }],
    signatures: [],
  });
  const sets = Array.from({ length: 200 }, (_, i) => nsec3(`${String(i).padStart(4, '0')}0000000000000000000000000000`, `${String(i + 1).padStart(4, '0')}${'0'.repeat(36)}`));
  const deep = `${Array.from({ length: 100 }, (_, i) => `l${i}`).join('.')}.flood.test`;
  const budget = { hashes: MAX_NSEC3_HASHES };
  assert.throws(() => nsec3Denial(sets, 'flood.test', deep, 'A', budget), new RegExp(`more than ${MAX_NSEC3_HASHES} NSEC3 hashes for one lookup`));
  assert.ok(budget.hashes < 0);
});
