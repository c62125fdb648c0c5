import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { keyMatches, parsePrivateKey } from '../../src/pki/certificate.js';
import { createSelfSigned, type Generated } from '../../src/pki/generate.js';
import { exportPkcs12, importPkcs12 } from '../../src/pki/pkcs12.js';
import { tool } from '../system-tools.js';

const openssl = (args: string[], input?: string) =>
  new Promise<{ code: number; out: string }>((resolve) => {
    const child = execFile(tool('openssl'), args, { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
let dir: string;
let rsa: Generated;
let ec: Generated;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mxg-ossl-'));
  rsa = await createSelfSigned({ commonName: 'mx1.example.com', organization: 'Example', country: 'JP' }, 365, 'rsa2048');
  ec = await createSelfSigned({ commonName: 'mx2.example.com', country: 'JP' }, 365, 'ecdsa-p256');
});
after(() => rm(dir, { recursive: true, force: true }));
const file = (name: string) => path.join(dir, name);

test('our CSRs pass openssl req -verify; our certificates parse with openssl x509', async () => {
  for (const [g, sig] of [[rsa, 'sha256WithRSAEncryption'], [ec, 'ecdsa-with-SHA256']] as const) {
    await writeFile(file('req.csr'), g.csrPem);
    const req = await openssl(['req', '-in', file('req.csr'), '-verify', '-noout']);
    assert.equal(req.code, 0, req.out);
    assert.match(req.out, /verify OK/i);
    await writeFile(file('cert.pem'), g.certificatePem);
    const x = await openssl(['x509', '-in', file('cert.pem'), '-noout', '-text']);
    assert.equal(x.code, 0, x.out);
    assert.match(x.out, new RegExp(`Signature Algorithm: ${sig}`));
    assert.match(x.out, /DNS:mx\d\.example\.com/);
  }
});

test('PKCS#12 we export is read by openssl pkcs12 (AES-256, SHA-256 MAC, key encrypted)', async () => {
  for (const g of [rsa, ec]) {
    await writeFile(file('out.p12'), await exportPkcs12(g.privateKeyPem, [g.certificatePem], 'export pw'));
    const info = await openssl(['pkcs12', '-in', file('out.p12'), '-info', '-noout', '-passin', 'pass:export pw']);
    assert.equal(info.code, 0, info.out);
    assert.match(info.out, /Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC/);
    assert.match(info.out, /MAC: sha256/);
    const keys = await openssl(['pkcs12', '-in', file('out.p12'), '-nocerts', '-nodes', '-passin', 'pass:export pw']);
    assert.ok(keyMatches(g.certificatePem, parsePrivateKey(keys.out.slice(keys.out.indexOf('-----BEGIN')))));
    const wrong = await openssl(['pkcs12', '-in', file('out.p12'), '-info', '-noout', '-passin', 'pass:wrong']);
    assert.notEqual(wrong.code, 0);
  }
});

test('PKCS#12 from openssl pkcs12 -export (default and -legacy, RSA and EC) imports with the matching key', async () => {
  for (const [name, g] of [['rsa', rsa], ['ec', ec]] as const) {
    await writeFile(file(`${name}.crt`), g.certificatePem);
    await writeFile(file(`${name}.key`), g.privateKeyPem);
    for (const legacy of [false, true]) {
      const out = file(`${name}-${legacy ? 'legacy' : 'default'}.p12`);
      const r = await openssl(['pkcs12', '-export', '-in', file(`${name}.crt`), '-inkey', file(`${name}.key`), '-out', out, '-passout', 'pass:imp', ...(legacy ? ['-legacy'] : [])]);
      assert.equal(r.code, 0, r.out);
      const got = await importPkcs12(await readFile(out), 'imp');
      assert.equal(got.certificatePem, g.certificatePem, `${name} ${legacy ? 'legacy' : 'default'}`);
      assert.ok(keyMatches(got.certificatePem, parsePrivateKey(got.privateKeyPem)));
      await assert.rejects(importPkcs12(await readFile(out), 'not it'), /Invalid pass phrase/);
    }
  }
});

test('a certificate from NEW serves a TLS handshake that openssl s_client completes', async () => {
  for (const g of [rsa, ec]) {
    const server = tls.createServer({ key: g.privateKeyPem, cert: g.certificatePem, minVersion: 'TLSv1.2' }, (s) => s.end('hello\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await writeFile(file('trust.pem'), g.certificatePem);
    const out = await new Promise<string>((resolve) => {
      const child = spawn(tool('openssl'), ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'mx.example.com', '-CAfile', file('trust.pem'), '-verify_return_error'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (d) => (text += d));
      child.stderr.on('data', (d) => (text += d));
      child.on('close', () => resolve(text));
      child.stdin.end();
    });
    server.close();
    assert.match(out, /Verify return code: 0 \(ok\)/, out);
    assert.match(out, /Protocol *: TLSv1\.[23]|New, TLSv1\.[23]/);
  }
});
