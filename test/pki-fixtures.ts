import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tool } from './system-tools.js';

/** Certificates made by the real openssl CLI: root CA → intermediate CA → leaf. */
export interface OpensslChain {
  dir: string;
  root: string;
  intermediate: string;
  leaf: string;
  leafKey: string;
  otherRoot: string;
  /** Sign a CSR (PEM text) with the intermediate; returns the certificate PEM. */
  sign(csrPem: string, days?: number): string;
  /** A new server certificate from the intermediate with this CN and these DNS SANs. */
  issue(cn: string, sans: string[], days?: number): string;
  /** The same, with its private key; `options` choose an ECDSA P-256 key and add extension lines. */
  issueWithKey(cn: string, sans: string[], days?: number, options?: { ecdsa?: boolean; extensions?: string[] }): { cert: string; key: string };
}

const run = (dir: string, args: string[]) => execFileSync(tool('openssl'), args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });

export function opensslChain(intermediateDays = 3650): OpensslChain {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mxg-pki-'));
  writeFileSync(path.join(dir, 'ca.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  writeFileSync(path.join(dir, 'leaf.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:mx.test.example\n');
  run(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'root.key', '-out', 'root.pem', '-days', '3650', '-subj', '/CN=Test Root CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  run(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other.key', '-out', 'other.pem', '-days', '3650', '-subj', '/CN=Other Root CA', '-addext', 'basicConstraints=critical,CA:TRUE']);
  run(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'int.key', '-out', 'int.csr', '-subj', '/CN=Test Intermediate CA']);
  run(dir, ['x509', '-req', '-in', 'int.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial', '-out', 'int.pem', '-days', String(intermediateDays), '-extfile', 'ca.ext']);
  run(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=mx.test.example']);
  run(dir, ['x509', '-req', '-in', 'leaf.csr', '-CA', 'int.pem', '-CAkey', 'int.key', '-CAcreateserial', '-out', 'leaf.pem', '-days', '3650', '-extfile', 'leaf.ext']);
  const read = (f: string) => readFileSync(path.join(dir, f), 'utf8');
  let n = 0;
  return {
    dir,
    root: read('root.pem'),
    intermediate: read('int.pem'),
    leaf: read('leaf.pem'),
    leafKey: read('leaf.key'),
    otherRoot: read('other.pem'),
    sign(csrPem, days = 365) {
      n += 1;
      writeFileSync(path.join(dir, `req${n}.csr`), csrPem);
      run(dir, ['x509', '-req', '-in', `req${n}.csr`, '-CA', 'int.pem', '-CAkey', 'int.key', '-CAcreateserial', '-out', `signed${n}.pem`, '-days', String(days), '-extfile', 'leaf.ext']);
      return read(`signed${n}.pem`);
    },
    issue(cn, sans, days = 3650) {
      return this.issueWithKey(cn, sans, days).cert;
    },
    issueWithKey(cn, sans, days = 3650, options = {}) {
      n += 1;
      const ext = `basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n${sans.length ? `subjectAltName=${sans.map((d) => `DNS:${d}`).join(',')}\n` : ''}${(options.extensions ?? []).map((e) => `${e}\n`).join('')}`;
      writeFileSync(path.join(dir, `issue${n}.ext`), ext);
      const key = options.ecdsa ? ['ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['rsa:2048'];
      run(dir, ['req', '-newkey', ...key, '-nodes', '-keyout', `issue${n}.key`, '-out', `issue${n}.csr`, '-subj', `/CN=${cn}`]);
      run(dir, ['x509', '-req', '-in', `issue${n}.csr`, '-CA', 'int.pem', '-CAkey', 'int.key', '-CAcreateserial', '-out', `issue${n}.pem`, '-days', String(days), '-extfile', `issue${n}.ext`]);
      return { cert: read(`issue${n}.pem`), key: read(`issue${n}.key`) };
    },
  };
}
