import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { trustedCas } from '../../src/store/certificates/operations.js';
import { certInfo, keyMatches, parsePrivateKey, peerCertificate } from '../../src/pki/certificate.js';
import { validateChain } from '../../src/pki/chain.js';
import { createSelfSigned } from '../../src/pki/generate.js';
import { isFqdn } from '../../src/pki/names.js';
import { certificatesIn } from '../../src/pki/pem.js';
import { exportPkcs12, importPkcs12 } from '../../src/pki/pkcs12.js';
import { deleteCertificate, putCertificate } from '../../src/store/certificates/certificates.js';
import { addListener } from '../../src/store/listeners/listeners.js';
import { dataPaths } from '../../src/store/paths.js';
import { defaultConfig, validateConfig } from '../../src/store/schema.js';
import { opensslChain } from '../pki-fixtures.js';

const chain = opensslChain(1);

test('chain validation: a valid chain with the intermediate the peer sent', async () => {
  assert.deepEqual(await validateChain(chain.leaf, [chain.intermediate], [chain.root]), { valid: true });
});

test('chain validation among the ~140 system roots: the issuing root is found, a look-alike name is not trusted', async () => {
  const { rootCertificates } = await import('node:tls');
  assert.deepEqual(await validateChain(chain.leaf, [chain.intermediate], [...rootCertificates, chain.root]), { valid: true });
  assert.equal((await validateChain(chain.leaf, [chain.intermediate], [...rootCertificates])).valid, false);
  // Another root with the same name but another key: the name filter lets it through, the signature check does not.
  const twin = opensslChain();
  assert.equal((await validateChain(chain.leaf, [chain.intermediate], [...rootCertificates, twin.root])).valid, false);
  assert.deepEqual(await validateChain(chain.leaf, [chain.intermediate], [twin.root, chain.root]), { valid: true });
});

test('chain validation: missing intermediate, untrusted root, expired intermediate all fail', async () => {
  const missing = await validateChain(chain.leaf, [], [chain.root]);
  assert.equal(missing.valid, false);
  assert.match(missing.reason!, /No valid certificate paths found/);
  assert.equal((await validateChain(chain.leaf, [chain.intermediate], [chain.otherRoot])).valid, false);
  // The intermediate was issued for one day: ten days from now it has expired, the rest has not.
  const later = new Date(Date.now() + 10 * 86_400_000);
  const expired = await validateChain(chain.leaf, [chain.intermediate], [chain.root], later);
  assert.equal(expired.valid, false);
  assert.match(expired.reason!, /expired|not yet valid/i);
});

test('chain validation remembers a result only until a certificate of it expires', async () => {
  // The intermediate lives one day: a minute before its end the chain holds, a second after it does
  // not, although both checks fall within the ten minutes a result is remembered.
  const end = Date.parse(new X509Certificate(chain.intermediate).validTo);
  assert.deepEqual(await validateChain(chain.leaf, [chain.intermediate], [chain.root], new Date(end - 60_000)), { valid: true });
  assert.deepEqual(await validateChain(chain.leaf, [chain.intermediate], [chain.root], new Date(end - 30_000)), { valid: true });
  assert.equal((await validateChain(chain.leaf, [chain.intermediate], [chain.root], new Date(end + 1000))).valid, false);
  // Another list of anchors with the same chain is another question.
  assert.equal((await validateChain(chain.leaf, [chain.intermediate], [chain.otherRoot], new Date(end - 30_000))).valid, false);
  assert.deepEqual(await validateChain(chain.leaf, [chain.intermediate], [chain.otherRoot, chain.root], new Date(end - 30_000)), { valid: true });
});

test('a peer certificate is parsed once, from PEM or DER, and a broken one still throws', () => {
  const first = peerCertificate(chain.leaf);
  assert.equal(peerCertificate(chain.leaf), first, 'the second session reuses the parse');
  const der = peerCertificate(first.raw);
  assert.equal(der.fingerprint256, first.fingerprint256);
  assert.equal(peerCertificate(Buffer.from(first.raw)), der);
  assert.throws(() => peerCertificate('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'));
  assert.throws(() => peerCertificate(Buffer.from('not a certificate')));
});

test('chain validation checks the leaf itself: a leaf from another CA with a genuine intermediate fails', async () => {
  const stranger = opensslChain();
  const r = await validateChain(stranger.leaf, [chain.intermediate], [chain.root]);
  assert.equal(r.valid, false);
  const shortLived = chain.issue('mx.test.example', ['mx.test.example'], 30);
  const later = await validateChain(shortLived, [chain.intermediate], [chain.root], new Date(Date.now() + 60 * 86_400_000));
  assert.deepEqual(later, { valid: false, reason: 'The certificate is either not yet valid or expired' }, 'an expired leaf fails');
});

test('chain validation: system list disabled, root only in the custom list', async () => {
  let config = defaultConfig();
  config.certificateAuthorities.custom = { enabled: true, certificates: [chain.root] };
  config.certificateAuthorities.system.enabled = false;
  config = validateConfig(config);
  assert.deepEqual(await trustedCas({ paths: dataPaths('/nonexistent') }, config), [chain.root]);
  assert.equal((await validateChain(chain.leaf, [chain.intermediate], await trustedCas({ paths: dataPaths('/nonexistent') }, config))).valid, true);
  config.certificateAuthorities.custom.enabled = false;
  const none = await validateChain(chain.leaf, [chain.intermediate], await trustedCas({ paths: dataPaths('/nonexistent') }, config));
  assert.deepEqual(none, { valid: false, reason: 'No trusted certificate authorities are enabled' });
  config.certificateAuthorities.system.enabled = true;
  assert.equal((await validateChain(chain.leaf, [chain.intermediate], await trustedCas({ paths: dataPaths('/nonexistent') }, config))).valid, false, 'a private root is not a Mozilla root');
});

test('self-signed certificates: RSA and ECDSA P-256, SAN from an FQDN common name', async () => {
  for (const [key, type] of [['rsa2048', 'RSA 2048'], ['rsa1024', 'RSA 1024'], ['ecdsa-p256', 'ECDSA P-256']] as const) {
    const g = await createSelfSigned({ commonName: 'mx1.example.com', organization: 'Example, Inc', country: 'JP' }, 30, key);
    const info = certInfo(g.certificatePem);
    assert.equal(info.keyType, type);
    assert.equal(info.commonName, 'mx1.example.com');
    assert.deepEqual(info.dnsNames, ['mx1.example.com']);
    assert.equal(info.selfSigned, true);
    assert.equal(info.status, 'valid');
    assert.ok(info.daysRemaining >= 29 && info.daysRemaining <= 30);
    assert.ok(keyMatches(g.certificatePem, parsePrivateKey(g.privateKeyPem)));
    assert.match(g.csrPem, /^-----BEGIN CERTIFICATE REQUEST-----/);
  }
});

test('PKCS#12 round trip, and a wrong passphrase or a corrupt file is a clear error', async () => {
  const g = await createSelfSigned({ commonName: 'p12.example.com', country: 'JP' }, 30, 'ecdsa-p256');
  const p12 = await exportPkcs12(g.privateKeyPem, [g.certificatePem, chain.intermediate], 'pass phrase');
  const back = await importPkcs12(p12, 'pass phrase');
  assert.equal(back.certificatePem, g.certificatePem);
  assert.deepEqual(back.chainPems, certificatesIn(chain.intermediate));
  assert.ok(keyMatches(back.certificatePem, parsePrivateKey(back.privateKeyPem)));
  await assert.rejects(importPkcs12(p12, 'wrong'), /Invalid pass phrase or corrupt PKCS#12 file/);
  const corrupt = Buffer.from(p12);
  corrupt[corrupt.length - 40] ^= 0xff;
  await assert.rejects(importPkcs12(corrupt, 'pass phrase'), /Invalid pass phrase or corrupt PKCS#12 file/);
  await assert.rejects(importPkcs12(Buffer.from('not a p12 at all'), 'x'), /Invalid pass phrase or corrupt PKCS#12 file/);
});

test('a profile in use cannot be deleted; references to missing profiles are invalid', async () => {
  const g = await createSelfSigned({ commonName: 'in.example.com', country: 'JP' }, 30, 'ecdsa-p256');
  let config = putCertificate(defaultConfig(), { name: 'mx1', certificate: g.certificatePem, intermediates: [], keyRef: 'a'.repeat(64), csr: null, demo: false });
  config = addListener(config, { name: 'In', type: 'public', interface: 'Management', port: 25 });
  config.listeners[0]!.certificate = 'mx1';
  config.delivery.certificate = 'mx1';
  config = validateConfig(config);
  assert.throws(() => deleteCertificate(config, 'MX1'), /used by listener In, outbound TLS \(destconfig\)/);
  assert.throws(() => validateConfig({ ...config, certificates: [] }), /listener In: certificate profile "mx1" does not exist/);
});

test('FQDN format', () => {
  for (const ok of ['mx1.example.com', '*.example.com', 'a-b.example.co.jp', 'example.com.']) assert.equal(isFqdn(ok), true, ok);
  for (const bad of ['localhost', 'mx1', '-a.example.com', 'a..b', 'mx_1.example.com', '1.2.3.4', 'a.*.example.com']) assert.equal(isFqdn(bad), false, bad);
});
