import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { Http01Responder } from '../../src/engine/acme/http01.js';
import { issuedProblem, parsePrivateKey } from '../../src/pki/certificate.js';
import { createCsr, createKey, createSelfSigned } from '../../src/pki/generate.js';
import { x509 } from '../../src/pki/provider.js';
import { checkAcmeNames } from '../../src/store/certificates/acme.js';
import { addInterface } from '../../src/store/network/interfaces.js';
import { defaultConfig } from '../../src/store/schema.js';
import { freePort } from '../helpers.js';

test('what a CA issued is refused when it is for other names, for another key, or not valid now', async () => {
  const made = await createSelfSigned({ commonName: 'mx1.example.com', country: 'JP' }, 30, 'ecdsa-p256');
  const key = parsePrivateKey(made.privateKeyPem);
  assert.equal(issuedProblem(made.certificatePem, ['MX1.example.com'], key), undefined);
  assert.match(issuedProblem(made.certificatePem, ['mx2.example.com'], key)!, /issued is for other names \(mx1\.example\.com; asked for mx2\.example\.com\)/);
  assert.match(issuedProblem(made.certificatePem, ['mx1.example.com', 'mx.example.com'], key)!, /other names/);
  const other = parsePrivateKey(await createKey('ecdsa-p256'));
  assert.match(issuedProblem(made.certificatePem, ['mx1.example.com'], other)!, /not for the key of the request/);
  assert.match(issuedProblem(made.certificatePem, ['mx1.example.com'], key, new Date(Date.now() + 90 * 86_400_000))!, /is expired/);
});

test('an ACME CSR names every host in its SAN and the first as CN, signed by the given key (ECDSA and RSA)', async () => {
  for (const type of ['ecdsa-p256', 'rsa2048'] as const) {
    const keyPem = await createKey(type);
    const csr = new x509.Pkcs10CertificateRequest(await createCsr(keyPem, ['mx1.example.com', 'mx.example.com']));
    assert.equal(await csr.verify(), true);
    assert.equal(csr.subject, 'CN=mx1.example.com');
    const san = csr.getExtension('2.5.29.17') as x509.SubjectAlternativeNameExtension;
    assert.deepEqual(san.names.items.map((n) => n.value), ['mx1.example.com', 'mx.example.com']);
  }
});

test('order names are checked: host names only, each once', () => {
  assert.deepEqual(checkAcmeNames('MX1.example.com, mx.example.com.,mx1.example.com'), ['mx1.example.com', 'mx.example.com']);
  assert.throws(() => checkAcmeNames('mx1'), /Not a host name: mx1/);
  assert.throws(() => checkAcmeNames(' , '), /Give the names/);
});

test('the HTTP-01 responder answers only tokens on offer, and a flood of silent connections from one address holds at most four', async () => {
  const port = await freePort();
  const refusals: string[] = [];
  const responder = new Http01Responder((address, why) => refusals.push(`${address}: ${why}`));
  await responder.apply(addInterface(defaultConfig(), { name: 'Acme', ip: '127.0.0.1', acmeHttp: port }));
  try {
    const get = (p: string) => fetch(`http://127.0.0.1:${port}${p}`).then(async (r) => [r.status, await r.text()] as const);
    const withdraw = responder.offer('tok-1', 'tok-1.thumbprint');
    assert.deepEqual(await get('/.well-known/acme-challenge/tok-1'), [200, 'tok-1.thumbprint']);
    assert.equal((await get('/.well-known/acme-challenge/tok-2'))[0], 404);
    assert.equal((await get('/'))[0], 404);
    withdraw();
    assert.equal((await get('/.well-known/acme-challenge/tok-1'))[0], 404);

    const sockets = await Promise.all(Array.from({ length: 12 }, () => new Promise<net.Socket>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(s));
      s.on('error', () => undefined);
    })));
    const closed = await Promise.all(sockets.map((s) => new Promise<boolean>((resolve) => {
      s.once('close', () => resolve(true));
      setTimeout(() => resolve(false), 1000).unref();
    })));
    assert.equal(closed.filter((c) => !c).length, 4, 'four silent connections are held, the others are closed at once');
    assert.match(refusals.join('\n'), /4 connections from this address are already open on the ACME HTTP-01 port/);
    for (const s of sockets) s.destroy();
  } finally {
    await responder.close();
  }
});
