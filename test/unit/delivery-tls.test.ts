import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decide, type Observation, requirementFor } from '../../src/engine/delivery/policy/tlsDecision.js';
import { nameMatches } from '../../src/engine/tls/names.js';
import { verifyPeer } from '../../src/engine/tls/verifyPeer.js';
import { DEST_TLS, destinationFor, type DestinationTls } from '../../src/store/destinations/destinations.js';
import { DestinationDefaultsSchema } from '../../src/store/destinations/destinations.js';
import { opensslChain } from '../pki-fixtures.js';

const secure = (verification: { ok: true; by: 'CA' } | { ok: false; reason: string } | null): Observation => ({ stage: 'secure', protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', verification });
const failed = { ok: false as const, reason: 'self-signed' };

test('the seed\'s table: every TLS setting × what the server did', () => {
  type Row = [DestinationTls, Observation, string];
  const rows: Row[] = [
    ['no', { stage: 'no-starttls' }, 'send-clear'],
    ['preferred', { stage: 'no-esmtp' }, 'send-clear'],
    ['preferred', { stage: 'no-starttls' }, 'send-clear'],
    ['preferred', { stage: 'starttls-refused', reply: '454 4.7.0 TLS not available' }, 'send-clear'],
    ['preferred', { stage: 'handshake-failed', error: 'alert' }, 'defer'],
    ['preferred', secure(null), 'send-tls'],
    ['required', { stage: 'no-esmtp' }, 'defer!'],
    ['required', { stage: 'no-starttls' }, 'defer!'],
    ['required', { stage: 'starttls-refused', reply: '454' }, 'defer!'],
    ['required', { stage: 'handshake-failed', error: 'alert' }, 'defer!'],
    ['required', secure(failed), 'send-tls'],
    ['preferred-verify', { stage: 'no-starttls' }, 'send-clear'],
    ['preferred-verify', { stage: 'starttls-refused', reply: '454' }, 'send-clear'],
    ['preferred-verify', { stage: 'handshake-failed', error: 'x' }, 'defer'],
    ['preferred-verify', secure(failed), 'send-tls'],
    ['preferred-verify', secure({ ok: true, by: 'CA' }), 'send-tls+verified'],
    ['required-verify', { stage: 'no-starttls' }, 'defer!'],
    ['required-verify', secure(failed), 'defer!'],
    ['required-verify', secure({ ok: true, by: 'CA' }), 'send-tls+verified'],
    ['required-verify-hosted', { stage: 'starttls-refused', reply: '454' }, 'defer!'],
    ['required-verify-hosted', secure(failed), 'defer!'],
    ['required-verify-hosted', secure({ ok: true, by: 'CA' }), 'send-tls+verified'],
  ];
  for (const [setting, obs, expected] of rows) {
    const d = decide(requirementFor(setting), obs);
    const got = d.action === 'defer' ? (d.requiredTlsFailed ? 'defer!' : 'defer') : d.action === 'send-tls' && d.verified ? 'send-tls+verified' : d.action;
    assert.equal(got, expected, `${setting} × ${obs.stage}`);
  }
});

test('decision log lines distinguish the seed\'s three failure cases and say whether the peer was verified', () => {
  const req = requirementFor('required');
  assert.match(decide(req, { stage: 'no-esmtp' }).log, /the remote MTA does not support ESMTP/);
  assert.equal(decide(req, { stage: 'no-starttls' }).log, 'TLS failed: TLS required, STARTTLS unavailable, destination is TLS disabled (STARTTLS is not in the EHLO list)', 'the AsyncOS guide\'s line');
  assert.match(decide(requirementFor('preferred'), { stage: 'no-starttls' }).log, /; delivering in clear \(TLS preferred\)$/);
  assert.match(decide(requirementFor('preferred-verify'), { stage: 'no-starttls' }).log, /; delivering in clear \(TLS Preferred \(Verify\): the certificate could not be verified either\)$/, 'the Verify setting is named');
  assert.match(decide(req, { stage: 'starttls-refused', reply: '454 4.7.0 nope' }).log, /STARTTLS was answered with an error: 454 4\.7\.0 nope/);
  assert.match(decide(req, { stage: 'handshake-failed', error: 'wrong version' }).log, /handshake failed: wrong version/);
  assert.match(decide(requirementFor('required-verify'), secure(failed)).log, /certificate verification failed: self-signed/);
  assert.match(decide(requirementFor('preferred-verify'), secure(failed)).log, /TLS success protocol TLSv1\.3 cipher \S+ verified no: self-signed/);
  assert.match(decide(requirementFor('required-verify'), secure({ ok: true, by: 'CA' })).log, /verified yes/);
  for (const s of DEST_TLS) assert.equal(requirementFor(s).setting, s);
  assert.equal(requirementFor('no').attempt, false);
});

test('destination entries: exact domain, then the longest .domain, then the default', () => {
  const delivery = {
    defaults: DestinationDefaultsSchema.parse({}),
    destinations: [
      { domain: '.example.com', tls: 'preferred' as const },
      { domain: '.mail.example.com', tls: 'required' as const },
      { domain: 'example.com', tls: 'required-verify' as const, maxConcurrency: 5 },
    ],
  };
  assert.equal(destinationFor(delivery, 'Example.COM.').tls, 'required-verify');
  assert.equal(destinationFor(delivery, 'example.com').maxConcurrency, 5);
  assert.equal(destinationFor(delivery, 'a.example.com').tls, 'preferred');
  assert.equal(destinationFor(delivery, 'a.mail.example.com').tls, 'required');
  assert.equal(destinationFor(delivery, 'a.example.com').maxConcurrency, 500, 'unset settings come from the default entry');
  const other = destinationFor(delivery, 'elsewhere.test');
  assert.equal(other.tls, 'no');
  assert.equal(other.source, 'Default');
});

test('name matching: exact, case, trailing dot, left-most wildcard only, one label deep', () => {
  const cases: [string, string, boolean][] = [
    ['mx.example.com', 'MX.Example.com.', true],
    ['*.example.com', 'mx.example.com', true],
    ['*.example.com', 'a.b.example.com', false],
    ['*.example.com', 'example.com', false],
    ['mx.*.com', 'mx.example.com', false],
    ['*.com', 'example.com', false],
    ['m*.example.com', 'mx.example.com', false],
    ['other.example.com', 'mx.example.com', false],
  ];
  for (const [p, r, ok] of cases) assert.equal(nameMatches(p, r), ok, `${p} ~ ${r}`);
});

const ca = opensslChain();
const check = (leaf: string, more: Partial<Parameters<typeof verifyPeer>[0]> = {}) =>
  verifyPeer({ chain: [leaf, ca.intermediate], trusted: [ca.root], mxHost: 'mx.test.example', domain: 'test.example', identity: 'standard', ...more });

test('peer verification with openssl-made certificates', async () => {
  const good = ca.issue('mx.test.example', ['mx.test.example']);
  assert.deepEqual(await check(good), { ok: true });
  const wildcard = ca.issue('*.test.example', ['*.test.example']);
  assert.deepEqual(await check(wildcard), { ok: true });
  const tooDeep = ca.issue('*.example', ['*.example']);
  assert.match(((await check(tooDeep, { mxHost: 'mx.test.example' })) as { reason: string }).reason, /does not match/);
  const wrongName = ca.issue('other.example.org', ['other.example.org']);
  assert.match(((await check(wrongName)) as { reason: string }).reason, /does not match mx\.test\.example or test\.example/);
  assert.match(((await verifyPeer({ chain: [good], trusted: [ca.root], mxHost: 'mx.test.example', domain: 'test.example', identity: 'standard' })) as { reason: string }).reason, /chain/, 'missing intermediate');
  assert.match(((await check(good, { trusted: [ca.otherRoot] })) as { reason: string }).reason, /chain/, 'untrusted root');
  const shortLived = ca.issue('mx.test.example', ['mx.test.example'], 30);
  assert.match(((await check(shortLived, { now: new Date(Date.now() + 60 * 86_400_000) })) as { reason: string }).reason, /expired|not yet valid/i);
  const selfSigned = (await import('../../src/pki/generate.js')).createSelfSigned;
  const own = await selfSigned({ commonName: 'mx.test.example', country: 'JP' }, 30, 'ecdsa-p256');
  assert.equal((await verifyPeer({ chain: [own.certificatePem], trusted: [ca.root], mxHost: 'mx.test.example', domain: 'test.example', identity: 'standard' })).ok, false);
});

test('standard vs hosted identity rules', async () => {
  // CN = MX host, SAN lists only another name: standard accepts (CN matches the MX host);
  // hosted refuses, because with dNSName entries present the CN is not looked at.
  const cnOnlyMatch = ca.issue('mx.test.example', ['unrelated.example.net']);
  assert.deepEqual(await check(cnOnlyMatch), { ok: true });
  assert.equal((await check(cnOnlyMatch, { identity: 'hosted' })).ok, false);
  // A domain hosted elsewhere (office-style MX): the MX host name in the SAN satisfies hosted mode.
  const hostedMx = ca.issue('mail.protection.example.net', ['*.mail.protection.example.net']);
  const hosted = { identity: 'hosted' as const, mxHost: 'tenant.mail.protection.example.net', domain: 'customer.example' };
  assert.deepEqual(await check(hostedMx, hosted), { ok: true });
  // No dNSName at all: hosted mode falls back to the CN.
  const noSan = ca.issue('mx.test.example', []);
  assert.deepEqual(await check(noSan, { identity: 'hosted' }), { ok: true });
  assert.match(((await check(noSan, { x509Check: true })) as { ok: boolean }).ok ? '' : 'x', /^$/, 'a v3 SHA-256 certificate passes the X.509 checks');
});
