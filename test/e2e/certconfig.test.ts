import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { cleanup, mxgate, tempHome } from '../helpers.js';
import { opensslChain } from '../pki-fixtures.js';

let home: string;
const chain = opensslChain();
const conf = (f: string) => path.join(home, 'configuration', f);
const committed = async () => JSON.parse(await readFile(path.join(home, 'config', 'current.json'), 'utf8'));

before(async () => {
  home = await tempHome();
  const r = await mxgate(home, ['engine', 'start']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  await writeFile(conf('pw.txt'), 'p12 secret\n');
  await writeFile(conf('wrong.txt'), 'nope\n');
});
after(() => cleanup(home));

test('the demo certificate is made at first start, marked as a demo, with its key 0600', async () => {
  const c = await committed();
  const demo = c.config.certificates.find((p: { name: string }) => p.name === 'Demo');
  assert.ok(demo && demo.demo === true);
  const keyFile = path.join(home, 'keys', `${demo.keyRef}.pem`);
  assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
  assert.equal((await stat(path.join(home, 'keys'))).mode & 0o777, 0o700);
  const show = await mxgate(home, ['-c', 'showconfig', '-c', 'certconfig print']);
  assert.doesNotMatch(show.stdout, /PRIVATE KEY/);
  assert.match(show.stdout, /^Demo \(demo\) .* self-signed +valid/m);
});

test('new → CSR → CA-signed upload replaces the self-signed certificate', async () => {
  const run = await mxgate(home, [
    '-c', 'certconfig new mx1 --cn mx1.example.com --org "Example" --country JP --days 365 --key rsa2048',
    '-c', 'certconfig csr mx1 --file mx1.csr',
    '-c', 'certconfig print',
    '-c', 'commit "mx1 self-signed"',
  ]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /^mx1 +mx1\.example\.com +self-signed +CSR pending +36\d +RSA 2048/m);
  const csr = await readFile(conf('mx1.csr'), 'utf8');
  await writeFile(conf('mx1-signed.pem'), chain.sign(csr));
  await writeFile(conf('int.pem'), chain.intermediate);
  await writeFile(conf('foreign.pem'), chain.leaf);

  const wrong = await mxgate(home, ['-c', 'certconfig upload mx1 --file foreign.pem']);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stdout, /does not match the private key of profile "mx1"/);

  const up = await mxgate(home, ['-c', 'certconfig upload mx1 --file mx1-signed.pem --intermediate int.pem', '-c', 'certconfig print', '-c', 'commit "signed"']);
  assert.equal(up.code, 0, up.stdout + up.stderr);
  assert.match(up.stdout, /^mx1 +mx1\.example\.com +Test Intermediate CA +valid/m);
  const p = (await committed()).config.certificates.find((c: { name: string }) => c.name === 'mx1');
  assert.equal(p.csr, null);
  assert.equal(p.intermediates.length, 1);
});

test('paste: the key must sign the certificate', async () => {
  await writeFile(conf('leaf.pem'), chain.leaf);
  await writeFile(conf('leaf.key'), chain.leafKey);
  await writeFile(conf('other.key'), (await readFile(path.join(chain.dir, 'other.key'))).toString());
  const bad = await mxgate(home, ['-c', 'certconfig paste pasted --cert leaf.pem --key other.key']);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /private key does not sign the certificate/);
  const ok = await mxgate(home, ['-c', 'certconfig paste pasted --cert leaf.pem --key leaf.key --intermediate int.pem', '-c', 'commit pasted']);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
});

test('import: wrong passphrase and corrupt files change nothing; a good file imports under its CN', async () => {
  const before = await committed();
  await mxgate(home, ['-c', 'certconfig export mx1 --file mx1.p12 --passphrase-file pw.txt']);
  assert.equal((await stat(conf('mx1.p12'))).mode & 0o777, 0o600);
  const wrong = await mxgate(home, ['-c', 'certconfig import again --file mx1.p12 --passphrase-file wrong.txt', '-c', 'commit']);
  assert.match(wrong.stdout, /Invalid pass phrase or corrupt PKCS#12 file/);
  await writeFile(conf('junk.p12'), 'junk');
  const junk = await mxgate(home, ['-c', 'certconfig import again --file junk.p12 --passphrase-file pw.txt', '-c', 'commit']);
  assert.match(junk.stdout, /Invalid pass phrase or corrupt PKCS#12 file/);
  assert.match(junk.stderr, /Stopped at -c argument 1: nothing after it ran/, 'the commit after the failed import did not run');
  assert.equal((await committed()).version, before.version);
  const missing = await mxgate(home, ['-c', 'certconfig import --file nothere.p12 --passphrase-file pw.txt']);
  assert.match(missing.stdout, /: The file ".*nothere\.p12" does not exist\./);

  await mxgate(home, ['-c', 'certconfig delete mx1', '-c', 'commit "gone"']);
  const imp = await mxgate(home, ['-c', 'certconfig import --file mx1.p12 --passphrase-file pw.txt --fqdn-check', '-c', 'certconfig print', '-c', 'commit']);
  assert.equal(imp.code, 0, imp.stdout + imp.stderr);
  assert.match(imp.stdout, /Certificate profile mx1\.example\.com imported/);
  assert.match(imp.stdout, /^mx1\.example\.com +mx1\.example\.com +Test Intermediate CA/m);
});

test('the IMPORT dialog in the guide\'s order: file, passphrase, what the file holds, FQDN check, then the name', async () => {
  const answers = (pass: string) => ['certconfig', 'certificate', 'import', 'mx1.p12', pass, 'N', 'dialogimport', '', '', 'certconfig print', ''].join('\n');
  const wrong = await mxgate(home, [], answers('not the passphrase'));
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /line 5: certconfig: .*Invalid pass phrase or corrupt PKCS#12 file/, 'a wrong passphrase stops the dialog before anything else is asked');
  assert.doesNotMatch(wrong.stdout, /Enter a name for this certificate profile/);
  const run = await mxgate(home, [], answers('p12 secret'));
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const order = ['to import:', 'Enter pass phrase for PKCS#12 file:', 'Subject:', 'Issuer:', 'Do you want to check if Common Name or SAN:dNSName or both are in Fully Qualified Domain Name(FQDN) format?', 'Enter a name for this certificate profile'];
  const at = order.map((q) => run.stdout.indexOf(q));
  assert.ok(at.every((i) => i >= 0), `every step is there:\n${run.stdout}`);
  assert.deepEqual([...at].sort((a, b) => a - b), at, 'in the guide\'s order');
  assert.match(run.stdout, /^Subject: +.*mx1\.example\.com/m);
  assert.match(run.stdout, /^Issuer: +.*Test Intermediate CA/m);
  assert.match(run.stdout, /Certificate profile dialogimport imported\./);
  assert.doesNotMatch(run.stdout, /p12 secret/, 'the passphrase is not echoed');
});

test('rollback brings a deleted profile back, and its key is still there', async () => {
  const history = await mxgate(home, ['-c', 'rollbackconfig list']);
  const v = /^(\d+) .* signed$/m.exec(history.stdout)?.[1];
  assert.ok(v, history.stdout);
  const r = await mxgate(home, ['-c', `rollbackconfig ${v}`]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const p = (await committed()).config.certificates.find((c: { name: string }) => c.name === 'mx1');
  assert.ok(p);
  assert.ok((await readdir(path.join(home, 'keys'))).includes(`${p.keyRef}.pem`));
});

test('custom CA list: import reports each rejected certificate and why; enable/disable; export', async () => {
  await writeFile(conf('bundle.pem'), chain.root + chain.intermediate + chain.leaf + chain.root);
  const run = await mxgate(home, [
    '-c', 'certconfig certauthority custom import --file bundle.pem',
    '-c', 'certconfig certauthority custom enable',
    '-c', 'certconfig certauthority system disable',
    '-c', 'certconfig certauthority custom print',
    '-c', 'certconfig certauthority custom export --file custom.pem',
    '-c', 'commit cas',
  ]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /Rejected: CN=mx\.test\.example: not a CA certificate/);
  assert.match(run.stdout, /Rejected: CN=Test Root CA: already in the custom list/);
  assert.match(run.stdout, /2 certificate\(s\) added to the custom list, 2 rejected\./);
  assert.match(run.stdout, /Custom List: Enabled, 2 certificate\(s\)/);
  assert.equal((await readFile(conf('custom.pem'), 'utf8')).match(/BEGIN CERTIFICATE/g)?.length, 2);
  const cas = (await committed()).config.certificateAuthorities;
  assert.equal(cas.system.enabled, false);
  assert.equal(cas.custom.enabled, true);
  const del = await mxgate(home, ['-c', 'certconfig certauthority custom delete 2', '-c', 'certconfig certauthority custom print']);
  assert.match(del.stdout, /Deleted from the custom list: CN=Test Intermediate CA/);
  assert.match(del.stdout, /Custom List: Enabled, 1 certificate\(s\)/);
  // One CA in full, and one CA alone to a file, as the appliance's CA page offers.
  const one = await mxgate(home, ['-c', 'certconfig certauthority custom print 1', '-c', 'certconfig certauthority custom export 1 --file one-ca.pem']);
  assert.equal(one.code, 0, one.stdout + one.stderr);
  assert.match(one.stdout, /^1\. .*CN=Test Root CA/m);
  assert.match(one.stdout, /^ {3}Issuer: +itself \(self-signed root\)$/m);
  assert.match(one.stdout, /^ {3}SHA-256: +([0-9A-F]{2}:){31}[0-9A-F]{2}$/m);
  assert.match(one.stdout, /^ {3}-----BEGIN CERTIFICATE-----$/m);
  assert.match(one.stdout, /Certificate 1 of the custom list \(.*Test Root CA\) exported to \S+one-ca\.pem\./);
  const exported = await readFile(conf('one-ca.pem'), 'utf8');
  assert.equal((exported.match(/BEGIN CERTIFICATE/g) ?? []).length, 1);
  assert.equal(exported, cas.custom.certificates[0]);
  const bad = await mxgate(home, ['-c', 'certconfig certauthority custom print 7']);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout + bad.stderr, /Give the number of a certificate of the custom list \(1-2\)/);
});

test('the NEW dialog on a pipe, in the guide\'s order: an invalid answer fails the command at its line; ECDSA has no key-size question', async () => {
  const answers = (country: string[], algorithm = ['2'], fqdn = 'Y', cn = 'dlg.example.com', keySize: string[] = []) =>
    ['certconfig', 'certificate', 'new', cn, 'Example', '', 'Tokyo', 'Tokyo', ...country, ...algorithm, '30', ...keySize, fqdn, '', 'N', '', '', 'certconfig print', ''].join('\n');
  const bad = await mxgate(home, [], answers(['Japan', 'JP']));
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /line 9: certconfig: .*"Japan": Country should be an ISO two character country code/);
  assert.doesNotMatch(bad.stdout, /Certificate profile dlg\.example\.com created/, 'no re-asking on a pipe');
  const run = await mxgate(home, [], answers(['JP']));
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /Certificate profile dlg\.example\.com created\./);
  assert.match(run.stdout, /^dlg\.example\.com +dlg\.example\.com +self-signed +CSR pending +(29|30) +ECDSA P-256/m);
  // The guide's order: subject, signature algorithm, validity, (key size), FQDN check, then the name.
  const order = ['Enter Common Name', 'Enter Organization:', 'Enter Country', 'Select the signature algorithm', 'Duration before expiration', 'Do you want to check if Common Name is in Fully Qualified Domain Name(FQDN) format?', 'Enter a name for this certificate profile'];
  const at = order.map((q) => run.stdout.indexOf(q));
  assert.ok(at.every((i) => i >= 0), `every question is asked:\n${run.stdout}`);
  assert.deepEqual([...at].sort((a, b) => a - b), at, 'asked in the guide\'s order');
  assert.doesNotMatch(run.stdout, /size of the private key/, 'no key size for ECDSA');
  // RSA asks the key size (2048 by default); a Common Name that is not an FQDN fails the FQDN check.
  const rsa = await mxgate(home, [], answers(['JP'], ['1'], 'N', 'rsa.example.com', ['']));
  assert.equal(rsa.code, 0, rsa.stdout + rsa.stderr);
  assert.match(rsa.stdout, /Select the size of the private key:/);
  assert.match(rsa.stdout, /^rsa\.example\.com +rsa\.example\.com +self-signed +CSR pending +(29|30) +RSA 2048/m);
  const notFqdn = await mxgate(home, [], answers(['JP'], ['2'], 'Y', 'mailhost'));
  assert.equal(notFqdn.code, 1);
  assert.match(notFqdn.stderr, /certconfig: Common Name "mailhost" is not in FQDN format\./);
  assert.doesNotMatch(notFqdn.stdout, /Certificate profile mailhost created/);
});

test('demo warning while a service uses the demo certificate', async () => {
  // Listener certificates are assigned in the inbound TLS work; here the outbound setting is used.
  const c = await committed();
  c.config.delivery.certificate = 'Demo';
  const { request } = await import('../../src/control/client.js');
  await request(path.join(home, 'run', 'control.sock'), 'commit', { baseVersion: c.version, config: c.config, comment: 'demo outbound', user: 'test' });
  const run = await mxgate(home, ['-c', 'certconfig delete Demo'], 'certconfig\n\n');
  assert.match(run.stdout, /Certificate profile "Demo" is used by outbound TLS \(destconfig\)/);
  const dialog = await mxgate(home, [], 'certconfig\n\n');
  assert.match(dialog.stdout, /Warning: You are currently using a demonstration certificate \(Demo\) which is not secure and is not recommended for general use\. Used by: outbound TLS/);
});

test('system list UPDATE from a PEM bundle shows count and SHA-256; rollback goes back to the built-in roots', async () => {
  await writeFile(conf('os-bundle.pem'), chain.root + chain.otherRoot + chain.leaf);
  const run = await mxgate(home, ['-c', 'certconfig certauthority system update --file os-bundle.pem', '-c', 'certconfig certauthority system print', '-c', 'commit "new bundle"']);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /System list: 2 CA certificates, SHA-256 [0-9a-f]{64} \(1 non-CA certificates skipped\)/);
  assert.match(run.stdout, /System List: (Enabled|Disabled), 2 certificate\(s\)\nVersion: 2 certificates loaded .* from os-bundle\.pem, SHA-256/);
  assert.match(run.stdout, /1\. CN=Test Root CA\n2\. CN=Other Root CA/);
  const version = (await committed()).version;
  await mxgate(home, ['-c', `rollbackconfig ${version - 1}`]);
  const back = await mxgate(home, ['-c', 'certconfig certauthority system print']);
  assert.match(back.stdout, /Version: Mozilla roots shipped with Node\.js/);
});
