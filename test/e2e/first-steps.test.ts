import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { cleanup, freePort, mxgate, shellOk, tempHome } from '../helpers.js';
import { type OpensslChain, opensslChain } from '../pki-fixtures.js';
import { type Sink, smtpSink } from '../sink.js';
import { SmtpProbe } from '../smtp-probe.js';

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

test('tlsverify names the issuer no enabled CA list has, and the disabled CA list that has it', async () => {
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
  // The root only in the system list's bundle, that list disabled, the custom list holding another CA: named the same way.
  await writeFile(conf('other-root.pem'), chain.otherRoot);
  const system = await mxgate(home, [
    '-c', 'certconfig certauthority custom delete 1',
    '-c', 'certconfig certauthority custom import --file other-root.pem',
    '-c', 'certconfig certauthority system update --file root.pem',
    '-c', 'certconfig certauthority system disable',
    '-c', 'commit "root only in the disabled system list"',
    '-c', 'tlsverify verify.test',
  ]);
  assert.equal(system.code, 1, system.stdout + system.stderr);
  assert.match(system.stdout, /The system CA list has "[^"]*Root[^"]*" but is disabled: "certconfig certauthority system enable" and commit\./);
  assert.doesNotMatch(system.stdout, /The custom CA list has/);
  // No list enabled at all: said as such.
  const none = await mxgate(home, ['-c', 'certconfig certauthority custom disable', '-c', 'commit "no list"', '-c', 'tlsverify verify.test']);
  assert.match(none.stdout, /No CA list is enabled: "certconfig certauthority system enable" or "certconfig certauthority custom enable", and commit\./);
  await shellOk(home, 'certconfig certauthority system enable', 'commit "system list back"');
});

test('a new public listener is given its domains and certificate at creation, in a script and in the dialog, and accepts mail for them at once', async () => {
  const port = await freePort();
  const made = await shellOk(home, `listenerconfig new Partners --type public --interface Management --port ${port} --domains partners.example,.partners.example --certificate mx1`, 'showchanges', 'commit "partners"');
  assert.match(made, /listener Partners added: Public on Management \(127\.0\.0\.1\) port \d+, TLS No, certificate mx1, accepts mail for partners\.example, \.partners\.example/);
  assert.doesNotMatch(made, /Note: listener Partners|Warning: Listener Partners/, 'nothing left to say');
  const { probe, greeting } = await SmtpProbe.connect(port);
  try {
    assert.match(greeting, /^220 /);
    await probe.send('EHLO client.test');
    await probe.send('MAIL FROM:<a@client.test>');
    assert.match(await probe.send('RCPT TO:<b@sub.partners.example>'), /^250 /);
    assert.match(await probe.send('RCPT TO:<b@elsewhere.example>'), /^550 /);
  } finally {
    probe.close();
  }

  const bare = await shellOk(home, `listenerconfig new Bare --type public --interface Management --port ${await freePort()}`);
  assert.match(bare, /Warning: Listener Bare accepts mail for no domain yet: give --domains, or add them with "listenerconfig edit Bare rcptaccess add DOMAIN"\./);
  const wrong = await mxgate(home, ['-c', `listenerconfig new Relay --type private --interface Management --port ${await freePort()} --domains example.com`]);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /--domains is for a public listener; a private one relays for the hosts given with --relay\./);
  const bad = await mxgate(home, ['-c', `listenerconfig new Bad --type public --interface Management --port ${await freePort()} --domains good.example,bad_domain!`]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /"bad_domain!" is not a domain, "\.domain" or ALL\./);

  // The dialog: a private listener asks for the hosts that may relay and the certificate (Enter keeps the demonstration one).
  const relayPort = await freePort();
  const dialog = await mxgate(home, [], ['listenerconfig', 'new', '2', 'Outbound', '1', String(relayPort), '192.0.2.0/24, 10.1.1.1', '2', '', 'showchanges', 'listenerconfig edit Outbound hostaccess print', ''].join('\n'));
  assert.equal(dialog.code, 0, dialog.stdout + dialog.stderr);
  assert.match(dialog.stdout, /Enter the hosts allowed to relay email through this listener [^\n]*\n\[\]> 192\.0\.2\.0\/24, 10\.1\.1\.1\n/);
  assert.match(dialog.stdout, /Please choose a certificate profile for this listener \(STARTTLS\)\.\n1\. Demo [^\n]*\n2\. mx1 \(mx1\.example\.com\)\n\[1\]> 2\n/);
  assert.match(dialog.stdout, /listener Outbound added: Private on Management \(127\.0\.0\.1\) port \d+, TLS No, certificate mx1, relays for 192\.0\.2\.0\/24, 10\.1\.1\.1\n/);
  assert.match(dialog.stdout, /RELAYLIST[\s\S]*192\.0\.2\.0\/24[\s\S]*10\.1\.1\.1/);
});
