import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { DnsClient } from '../../src/engine/dns/client.js';
import { GuiClient } from '../gui-client.js';
import { applianceWithListener, cleanup, freePort, mxgate } from '../helpers.js';
import { type KnotPrimary, startKnot } from '../knot.js';
import { type Pebble, startPebble } from '../pebble.js';
import { tool } from '../system-tools.js';

/**
 * Certificates from an ACME CA, end to end: Pebble as the CA (it really checks the challenges,
 * resolving names through Knot), Knot DNS as the zone's primary taking TSIG-signed updates for
 * DNS-01, the appliance's own responder answering HTTP-01. The certificates are then served by the
 * listener (judged by openssl s_client against Pebble's root) and by the HTTPS interface.
 */
const key = { name: 'mxgate-update', secret: randomBytes(32) };
let knot: KnotPrimary;
let pebble: Pebble;
let home: string;
let port: number;
let httpsPort: number;
let dns: DnsClient;

const conf = (f: string) => path.join(home, 'configuration', f);
const run = (...lines: string[]) => mxgate(home, lines.flatMap((l) => ['-c', l]));
const committed = async () => JSON.parse(await readFile(path.join(home, 'config', 'current.json'), 'utf8')).config;

before(async () => {
  knot = await startKnot([{ name: 'acme.test', records: ['mx1 IN A 127.0.0.1', 'mx2 IN A 127.0.0.1', 'mx IN A 127.0.0.1'] }], key);
  dns = new DnsClient([{ host: knot.host, port: knot.port }], 2000);
  pebble = await startPebble({ dnsServer: `${knot.host}:${knot.port}` });
  ({ home, port } = await applianceWithListener());
  httpsPort = await freePort();
  await writeFile(conf('pebble-https.pem'), pebble.httpsCertificate);
  await writeFile(conf('update.key'), `hmac-sha256:${key.name}:${key.secret.toString('base64')}\n`);
  await writeFile(conf('admin.pw'), 'correct horse battery\n');
  await writeFile(conf('wrong.key'), `hmac-sha256:${key.name}:${randomBytes(32).toString('base64')}\n`);
});
after(async () => {
  await cleanup(home);
  await pebble?.close();
  await knot?.close();
});

const sClient = (root: string, name: string) =>
  new Promise<string>((resolve) => {
    const child = spawn(tool('openssl'), ['s_client', '-starttls', 'smtp', '-connect', `127.0.0.1:${port}`, '-servername', name, '-CAfile', root, '-verify_hostname', name, '-verify_return_error', '-showcerts']);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', () => resolve(out));
    child.stdin.end('QUIT\r\n');
  });

test('an ACME account: the terms must be accepted, the CA\'s HTTPS must chain to an enabled CA list, and a CA that is down is said plainly', async () => {
  const refused = await mxgate(home, [
    '--keep-going',
    '-c', `certconfig acme account new --directory ${pebble.directory} --email admin@acme.test`,
    '-c', `certconfig acme account new --directory http://127.0.0.1:1/dir --email admin@acme.test --agree-tos`,
    '-c', `certconfig acme account new --directory ${pebble.directory} --email admin@acme.test --agree-tos`,
    '-c', `certconfig acme account new --directory https://127.0.0.1:${await freePort()}/dir --email admin@acme.test --agree-tos`,
    '-c', 'certconfig acme new mx1 --names mx1.acme.test',
  ]);
  assert.equal(refused.code, 1);
  assert.match(refused.stdout, /terms of service accepted: .* add --agree-tos/);
  assert.match(refused.stdout, /The ACME directory must be an https:\/\/ URL/);
  assert.match(refused.stdout, /its HTTPS certificate is not trusted .*certconfig certauthority custom import/);
  assert.match(refused.stdout, /ACME server 127\.0\.0\.1:\d+: cannot connect/);
  assert.match(refused.stdout, /There is no ACME account yet/);
  assert.doesNotMatch(refused.stdout, /at .*\.js:\d+/);
  assert.equal((await committed()).acme.account, null);

  const made = await run(
    'certconfig certauthority custom import --file pebble-https.pem',
    'certconfig certauthority custom enable',
    'commit "trust the ACME CA"',
    `certconfig acme account new --directory ${pebble.directory} --email admin@acme.test --agree-tos`,
    'commit "ACME account"',
  );
  assert.equal(made.code, 0, made.stdout + made.stderr);
  assert.match(made.stdout, /ACME account registered at https:\/\/127\.0\.0\.1:\d+\/dir for admin@acme\.test: https:\/\/127\.0\.0\.1:\d+\/my-account\//);
  const account = (await committed()).acme.account;
  assert.match(account.url, /\/my-account\//);
  assert.ok((await readdir(path.join(home, 'keys'))).includes(`${account.keyRef}.pem`));
});

/** The certificate the HTTPS interface presents for mx1.acme.test, verified to Pebble's root: its SHA-256 fingerprint. */
const httpsServes = async (): Promise<string> => {
  const socket = tls.connect({ host: '127.0.0.1', port: httpsPort, servername: 'mx1.acme.test', ca: await pebble.root() });
  try {
    await new Promise((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    return socket.getPeerX509Certificate()!.fingerprint256;
  } finally {
    socket.destroy();
  }
};
const fingerprintOf = async (name: string) => new X509Certificate((await committed()).certificates.find((c: { name: string }) => c.name === name).certificate).fingerprint256;

test('HTTP-01: without a responder the order is refused before the CA is asked; with one the certificate is issued, served by the listener and by HTTPS, verified to Pebble\'s root', async () => {
  const none = await run('certconfig acme new mx1 --names mx1.acme.test --challenge http-01');
  assert.equal(none.code, 1);
  assert.match(none.stdout, /no interface answers HTTP-01 challenges: set one with "interfaceconfig edit NAME --acme-http 80"/);

  const issued = await run(
    `interfaceconfig edit Management --acme-http ${pebble.httpPort}`,
    'commit "HTTP-01 responder"',
    'certconfig acme new mx1 --names mx1.acme.test --challenge http-01',
    'listenerconfig edit InboundMail certificate mx1',
    'listenerconfig edit InboundMail hostaccess default --tls preferred',
    `interfaceconfig edit Management --https ${httpsPort} --https-certificate mx1`,
    'userconfig new admin --role administrator --password-file admin.pw',
    'commit "ACME certificate mx1"',
  );
  assert.equal(issued.code, 0, issued.stdout + issued.stderr);
  assert.match(issued.stdout, /Certificate profile mx1 issued for mx1\.acme\.test, valid until \d{4}-/);
  await writeFile(conf('pebble-root.pem'), await pebble.root());
  const out = await sClient(conf('pebble-root.pem'), 'mx1.acme.test');
  assert.match(out, /Verify return code: 0 \(ok\)/, out);
  assert.match(out, / 1 s:CN ?= ?Pebble Intermediate CA/);
  assert.equal(await httpsServes(), await fingerprintOf('mx1'), 'HTTPS presents the ACME certificate');

  // Tokens are answered only while their order runs: nothing is left behind.
  const res = await fetch(`http://127.0.0.1:${pebble.httpPort}/.well-known/acme-challenge/anything`);
  assert.equal(res.status, 404);
});

test('DNS-01: the TXT records go to the zone\'s primary with TSIG and are gone afterwards; a wrong TSIG key is refused and stages nothing', async () => {
  const wrong = await run(
    'dnsconfig update-server acme.test 127.0.0.1:' + knot.port + ' --tsig-key-file wrong.key',
    'certconfig acme new mx2 --names mx2.acme.test,mx.acme.test --challenge dns-01',
  );
  assert.equal(wrong.code, 1);
  assert.match(wrong.stdout, /update of acme\.test at 127\.0\.0\.1:\d+ refused: BADSIG: the server has a key of that name, but the secret differs/);
  assert.doesNotMatch(wrong.stdout, /ACME server/);

  const issued = await run(
    'dnsconfig update-server acme.test 127.0.0.1:' + knot.port + ' --tsig-key-file update.key',
    'certconfig acme new mx2 --names mx2.acme.test,mx.acme.test --challenge dns-01 --key rsa2048 --reuse-key',
    'commit "ACME certificate mx2"',
    'certconfig acme status',
  );
  assert.equal(issued.code, 0, issued.stdout + issued.stderr);
  assert.match(issued.stdout, /Certificate profile mx2 issued for mx2\.acme\.test, mx\.acme\.test/);
  assert.match(issued.stdout, /^mx1: mx1\.acme\.test; http-01, ecdsa-p256, new key at renewal$/m);
  assert.match(issued.stdout, /^mx2: mx2\.acme\.test, mx\.acme\.test; dns-01, rsa2048, key kept at renewal$/m);
  assert.match(issued.stdout, /renewal due \d{4}-/);
  for (const name of ['_acme-challenge.mx2.acme.test', '_acme-challenge.mx.acme.test']) {
    assert.deepEqual((await dns.query(name, 'TXT')).answers, [], `${name} was withdrawn`);
  }
  const mx2 = (await committed()).certificates.find((c: { name: string }) => c.name === 'mx2');
  assert.deepEqual(mx2.acme, { names: ['mx2.acme.test', 'mx.acme.test'], key: 'rsa2048', challenge: 'dns-01', reuseKey: true });
});

test('renew: the engine renews the committed profile and puts it in service itself (listener and HTTPS), with a new key unless the profile keeps its key', async () => {
  const before = (await committed()).certificates;
  const keyOf = (list: { name: string; keyRef: string; certificate: string }[], n: string) => list.find((c) => c.name === n)!;
  const renewed = await run('certconfig acme renew mx1', 'certconfig acme renew mx2');
  assert.equal(renewed.code, 0, renewed.stdout + renewed.stderr);
  assert.match(renewed.stdout, /mx1 renewed with a new key, valid until \d{4}-.*; in service as configuration version \d+\./);
  assert.match(renewed.stdout, /mx2 renewed with the same key/);
  const head = JSON.parse(await readFile(path.join(home, 'config', 'current.json'), 'utf8'));
  assert.equal(head.user, 'acme');
  assert.equal(head.comment, 'ACME renewal of mx2 (same key)');
  const now = head.config.certificates;
  assert.notEqual(keyOf(now, 'mx1').keyRef, keyOf(before, 'mx1').keyRef);
  assert.equal(keyOf(now, 'mx2').keyRef, keyOf(before, 'mx2').keyRef);
  assert.notEqual(keyOf(now, 'mx2').certificate, keyOf(before, 'mx2').certificate);
  const out = await sClient(conf('pebble-root.pem'), 'mx1.acme.test');
  assert.match(out, /Verify return code: 0 \(ok\)/, out);
  assert.match(out, new RegExp(keyOf(now, 'mx1').certificate.split('\n')[5]!.slice(0, 40).replace(/[+/]/g, '.')), 'the renewed certificate is the one served');
  assert.equal(await httpsServes(), await fingerprintOf('mx1'), 'HTTPS presents the renewed certificate too');

  const refused = await mxgate(home, ['--keep-going', '-c', 'certconfig new plain --cn plain.acme.test --country JP', '-c', 'certconfig acme renew plain', '-c', 'certconfig acme dane mx1 --port 25', '-c', 'certconfig acme renew mx1']);
  assert.equal(refused.code, 1);
  assert.match(refused.stdout, /was not issued by ACME/);
  assert.match(refused.stdout, /"mx1" has changes that are not committed: commit them \(or "clearchanges"\) first/);
});

test('the CA down: each renewal fails with what went wrong, the next attempt backs off, an alert after the configured number of failures, and the certificate in service stays', async () => {
  const served = (await committed()).certificates.find((c: { name: string }) => c.name === 'mx1').certificate;
  const set = await run('certconfig acme settings --retry-minutes 5 --alert-after 2', 'commit "renewal settings"');
  assert.equal(set.code, 0, set.stdout + set.stderr);
  await pebble.close();
  const first = await run('certconfig acme renew mx1');
  assert.equal(first.code, 1);
  assert.match(first.stdout, /Certificate profile mx1 was not renewed: ACME server 127\.0\.0\.1:\d+: cannot connect/);
  const second = await run('certconfig acme renew mx1', 'certconfig acme status');
  assert.equal(second.code, 1);
  const status = await run('certconfig acme status', 'displayalerts');
  assert.match(status.stdout, /2 failed attempt\(s\), the last: ACME server 127\.0\.0\.1:\d+: cannot connect.*; next attempt at (\S+)/);
  const next = Date.parse(/next attempt at (\S+)/.exec(status.stdout)![1]!);
  // 5 minutes, doubled after the second failure: about ten minutes from now.
  assert.ok(next - Date.now() > 8 * 60_000 && next - Date.now() <= 10 * 60_000, status.stdout);
  assert.match(status.stdout, /WARNING +\(System\) The certificate of profile mx1 could not be renewed/);
  // The GUI's certificate page says the same.
  const gui = new GuiClient(httpsPort);
  assert.equal((await gui.login('admin', 'correct horse battery')).status, 303);
  const page = (await gui.get('/certificates')).body;
  assert.match(page, /ACME http-01, new key: next renewal [A-Z][a-z]{2} [A-Z][a-z]{2} /);
  assert.match(page, /ACME dns-01, key kept: next renewal [A-Z][a-z]{2} [A-Z][a-z]{2} /);
  assert.match(page, /2 failed attempt\(s\), the last: ACME server 127\.0\.0\.1:\d+: cannot connect/);
  assert.equal((await committed()).certificates.find((c: { name: string }) => c.name === 'mx1').certificate, served);
  assert.match(await sClient(conf('pebble-root.pem'), 'mx1.acme.test'), /Verify return code: 0 \(ok\)/);
});
