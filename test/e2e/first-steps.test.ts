import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { cleanup, freePort, mxgate, shellOk, tempHome } from '../helpers.js';
import { type OpensslChain, opensslChain } from '../pki-fixtures.js';
import { type Sink, smtpSink } from '../sink.js';

/**
 * First steps that used to do nothing without a word: a public listener that accepts no domain or
 * presents Demo, a CA-signed certificate uploaded without its chain, --overwrite of a certificate
 * in use, a CA imported into the disabled custom list. Each now says so, in one line.
 */
let home: string;
let chain: OpensslChain;
let sink: Sink | undefined;
const conf = (f: string) => path.join(home, 'configuration', f);

before(async () => {
  home = await tempHome();
  chain = opensslChain();
});
after(async () => {
  await sink?.close();
  await cleanup(home);
});

test('a commit says when a public listener it adds accepts no domain or presents the demonstration certificate, and stops saying it once fixed', async () => {
  const port = await freePort();
  const made = await shellOk(home, `listenerconfig new InboundMail --type public --interface Management --port ${port}`, 'commit "listener"');
  assert.match(made, /Note: listener InboundMail accepts mail for no domain: every recipient is refused until "listenerconfig edit InboundMail rcptaccess add DOMAIN"\./);
  assert.match(made, /Note: listener InboundMail presents the demonstration certificate/);
  const fixed = await shellOk(home, 'certconfig new mx1 --cn mx1.example.com --country JP --key ecdsa-p256', 'listenerconfig edit InboundMail rcptaccess add example.com', 'listenerconfig edit InboundMail certificate mx1', 'commit "fixed"');
  assert.doesNotMatch(fixed, /Note: listener/);
  assert.doesNotMatch(await shellOk(home, 'destconfig new other.example --tls required', 'commit "unrelated"'), /Note: listener/, 'listeners the commit leaves alone are not repeated');
});

test('a CA-signed certificate uploaded without its intermediates is warned about; with them it is not', async () => {
  await shellOk(home, 'certconfig csr mx1 --file mx1.csr');
  await writeFile(conf('mx1-signed.pem'), chain.sign(await readFile(conf('mx1.csr'), 'utf8')));
  await writeFile(conf('int.pem'), chain.intermediate);
  const bare = await mxgate(home, ['-c', 'certconfig upload mx1 --file mx1-signed.pem']);
  assert.equal(bare.code, 0, bare.stderr);
  assert.match(bare.stdout, /Warning: The certificate of mx1 comes without the intermediate certificates of its issuer \(.+\): senders that verify need the chain up to a root they trust\. Give them with --intermediate FILE/);
  const full = await mxgate(home, ['-c', 'certconfig upload mx1 --file mx1-signed.pem --intermediate int.pem']);
  assert.doesNotMatch(full.stdout, /comes without the intermediate/);
});

test('--overwrite of a certificate in use is said in a script; the help names --overwrite', async () => {
  const r = await mxgate(home, ['-c', 'certconfig new mx1 --cn other.example.com --country JP --overwrite']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Warning: Certificate profile mx1 is used by .*listener InboundMail.*; --overwrite replaces its certificate and key with a new self-signed certificate there once committed\./);
  assert.match((await mxgate(home, ['-c', 'help certconfig'])).stdout, /certconfig new NAME .*\[--overwrite\]/);
});

test('a CA imported into the disabled custom list is said to verify nothing until the list is enabled', async () => {
  await writeFile(conf('root.pem'), chain.root);
  const r = await mxgate(home, ['-c', 'certconfig certauthority custom disable', '-c', 'certconfig certauthority custom import --file root.pem']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /1 certificate\(s\) added to the custom list/);
  assert.match(r.stdout, /Warning: The custom CA list is disabled: its certificates are not used to verify peers until it is enabled\. "certconfig certauthority custom enable" enables it\./);
  const enabled = await mxgate(home, ['-c', 'certconfig certauthority custom enable', '-c', 'certconfig certauthority custom import --file root.pem']);
  assert.doesNotMatch(enabled.stdout, /is disabled/);
});

test('tlsverify names the issuer no enabled CA list has, and the disabled custom list that has it', async () => {
  const leaf = chain.issueWithKey('mx.verify.test', ['verify.test']);
  sink = await smtpSink({ tls: { key: leaf.key, cert: leaf.cert + chain.intermediate } });
  await writeFile(conf('root.pem'), chain.root);
  await shellOk(
    home,
    'certconfig certauthority custom disable',
    'certconfig certauthority custom import --file root.pem',
    `smtproutes new verify.test 127.0.0.1:${sink.port}`,
    'destconfig new verify.test --tls required-verify',
    'commit "verify.test with its root in the disabled custom list"',
  );
  const r = await mxgate(home, ['-c', 'tlsverify verify.test']);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /Certificate verification failed: certificate chain: .*\(no enabled CA list has "[^"]*Root[^"]*", the issuer of the top of the chain the server sent\)/);
  assert.match(r.stdout, /The custom CA list has "[^"]*Root[^"]*" but is disabled: "certconfig certauthority custom enable" and commit\./);
  const enabled = await mxgate(home, ['-c', 'certconfig certauthority custom enable', '-c', 'commit "enable"', '-c', 'tlsverify verify.test']);
  assert.equal(enabled.code, 0, enabled.stdout);
  assert.match(enabled.stdout, /Certificate verification successful\./);
});
