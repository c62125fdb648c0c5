import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { applianceWithListener, cleanup, freePort, shellOk } from '../helpers.js';
import { opensslChain } from '../pki-fixtures.js';
import { tool } from '../system-tools.js';

/**
 * The independent audit: testssl.sh (Debian's package) against every TLS endpoint of one appliance
 * — a STARTTLS listener with an RSA-2048 certificate, one with an ECDSA P-256 certificate, and the
 * HTTPS management interface — in parallel. Its JSON findings are read and any of severity MEDIUM or
 * higher fails the test, named. The certificates are issued as a public CA would (90 days, CRL and
 * OCSP addresses, the host name in the SAN) by a test CA that testssl is told to trust, so what is
 * judged is the server's TLS, not the test PKI.
 */
const chain = opensslChain();
const HOST = 'mx.test.example';
let home: string;
let rsaPort: number;
let ecdsaPort: number;
let httpsPort: number;

/** Issued as a public CA would: 90 days, CRL and OCSP addresses, the host name in the SAN. */
const PUBLIC_STYLE = ['crlDistributionPoints=URI:http://crl.test.example/int.crl', 'authorityInfoAccess=OCSP;URI:http://ocsp.test.example/'];

before(async () => {
  ({ home, port: rsaPort } = await applianceWithListener());
  [ecdsaPort, httpsPort] = [await freePort(), await freePort()];
  const conf = (f: string) => path.join(home, 'configuration', f);
  const rsa = chain.issueWithKey(HOST, [HOST], 90, { extensions: ['keyUsage=critical,digitalSignature,keyEncipherment', ...PUBLIC_STYLE] });
  const ec = chain.issueWithKey(HOST, [HOST], 90, { ecdsa: true, extensions: ['keyUsage=critical,digitalSignature', ...PUBLIC_STYLE] });
  await writeFile(conf('rsa.pem'), rsa.cert);
  await writeFile(conf('rsa.key'), rsa.key);
  await writeFile(conf('ec.pem'), ec.cert);
  await writeFile(conf('ec.key'), ec.key);
  await writeFile(conf('int.pem'), chain.intermediate);
  await shellOk(
    home,
    'certconfig paste rsa --cert rsa.pem --key rsa.key --intermediate int.pem',
    'certconfig paste ecdsa --cert ec.pem --key ec.key --intermediate int.pem',
    'listenerconfig edit InboundMail certificate rsa',
    'listenerconfig edit InboundMail hostaccess default --tls preferred',
    `listenerconfig new Second --type public --interface Management --port ${ecdsaPort}`,
    'listenerconfig edit Second certificate ecdsa',
    'listenerconfig edit Second hostaccess default --tls preferred',
    `interfaceconfig edit Management --https ${httpsPort} --https-certificate ecdsa`,
    'commit "audit"',
  );
  await writeFile(path.join(chain.dir, 'root-ca.pem'), chain.root);
});
after(() => cleanup(home));

interface Finding {
  id: string;
  severity: string;
  finding: string;
}

async function audit(name: string, port: number, starttls: boolean, only: string[] = []): Promise<Finding[]> {
  const json = path.join(chain.dir, `${name}.json`);
  await rm(json, { force: true }); // testssl refuses to write over an existing file
  const args = ['--warnings', 'off', '--quiet', '--color', '0', ...only, '--add-ca', path.join(chain.dir, 'root-ca.pem'), '--ip', '127.0.0.1', '--jsonfile', json, ...(starttls ? ['--starttls', 'smtp'] : []), `${HOST}:${port}`];
  await promisify(execFile)(tool('testssl'), args, { timeout: 15 * 60_000, maxBuffer: 64 * 1024 * 1024 }).catch((err: { code?: number }) => {
    // testssl's exit status counts findings; the JSON file is what is judged.
    if (typeof err.code !== 'number') throw err;
  });
  return JSON.parse(await readFile(json, 'utf8')) as Finding[];
}

const resumes = (findings: Finding[]) => ['sessionresumption_ID', 'sessionresumption_ticket'].some((id) => byId(findings, id) === 'supported');

/**
 * testssl's resumption check opens connection after connection; with three audits sharing two
 * cores it has reported "check failed because of connect problem". Such an endpoint has its
 * server defaults (-S, which include the check) audited once more, alone, before the verdict.
 */
async function resumption(name: string, port: number, starttls: boolean, findings: Finding[]): Promise<boolean> {
  return resumes(findings) || resumes(await audit(`${name}-again`, port, starttls, ['-S']));
}

const SEVERE = new Set(['MEDIUM', 'HIGH', 'CRITICAL']);
const severe = (findings: Finding[]) => findings.filter((f) => SEVERE.has(f.severity)).map((f) => `${f.severity} ${f.id}: ${f.finding}`);
const byId = (findings: Finding[], id: string) => findings.find((f) => f.id === id)?.finding ?? '(not reported)';

test('testssl.sh finds nothing of MEDIUM or higher on the RSA and ECDSA STARTTLS listeners and the HTTPS interface', { timeout: 30 * 60_000 }, async () => {
  const [rsa, ecdsa, https] = await Promise.all([audit('rsa', rsaPort, true), audit('ecdsa', ecdsaPort, true), audit('https', httpsPort, false)]);
  for (const [name, findings, port, starttls] of [['RSA listener', rsa, rsaPort, true], ['ECDSA listener', ecdsa, ecdsaPort, true], ['HTTPS interface', https, httpsPort, false]] as const) {
    assert.ok(findings.length > 50, `${name}: testssl ran its checks (${findings.length} findings)`);
    assert.deepEqual(severe(findings), [], `${name}: findings of MEDIUM or higher`);
    assert.deepEqual(
      findings.filter((f) => /VULNERABLE|NOT ok/i.test(f.finding) && !/not vulnerable/i.test(f.finding)).map((f) => `${f.id}: ${f.finding}`),
      [],
      `${name}: no VULNERABLE and no NOT ok`,
    );
    // TLS 1.2 and 1.3 only.
    for (const old of ['SSLv2', 'SSLv3', 'TLS1', 'TLS1_1']) assert.match(byId(findings, old), /not offered/, `${name}: ${old}`);
    assert.match(byId(findings, 'TLS1_2'), /^offered/, `${name}: TLS 1.2`);
    assert.match(byId(findings, 'TLS1_3'), /^offered/, `${name}: TLS 1.3`);
    // Only AEAD suites with forward secrecy: no CBC ("AVERAGE" in testssl 3.0), no 3DES, no static RSA.
    assert.match(byId(findings, 'cipherlist_AVERAGE'), /not offered/, `${name}: obsolete CBC suites`);
    assert.match(byId(findings, 'cipherlist_3DES_IDEA'), /not offered/, `${name}: 3DES`);
    const suites = findings.filter((f) => /^cipher_x[0-9a-f]+$/.test(f.id)).map((f) => f.finding);
    assert.ok(suites.length >= 3, `${name}: suites listed`);
    for (const suite of suites) assert.match(suite, /\bECDH\b.*\b(AESGCM|ChaCha20)\b/, `${name}: ${suite}`);
    assert.match(byId(findings, 'PFS'), /^offered/, `${name}: forward secrecy`);
    // Returning clients can skip the full handshake (session IDs or tickets).
    assert.ok(await resumption(name.replace(/ /g, '-'), port, starttls, findings), `${name}: session resumption (${byId(findings, 'sessionresumption_ticket')}; ${byId(findings, 'sessionresumption_ID')})`);
    assert.match(byId(findings, 'secure_client_renego'), /not vulnerable/, `${name}: client-initiated renegotiation`);
  }
  assert.match(byId(https, 'HSTS_time'), /365 days/, 'HSTS for a year');
});
