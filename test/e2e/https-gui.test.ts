import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { accepts, applianceWithListener, cleanup, freePort, mxgate, shellOk, submitMail, useChainCertificate } from '../helpers.js';
import { opensslChain } from '../pki-fixtures.js';
import { GuiClient } from '../gui-client.js';
import { SmtpProbe } from '../smtp-probe.js';

/**
 * The HTTPS management interface end to end: the shell turns it on, a client logs in with an
 * appliance account, edits become pending changes, Commit Changes reaches the engine (and the
 * shell sees it), and the guards hold: no page without login, no form without its token, no
 * endless password guessing, no change beyond the account's role.
 */
let home: string;
let port: number;
let redirect: number;
const chain = opensslChain();
const conf = (f: string) => path.join(home, 'configuration', f);
let smtpPort: number;

before(async () => {
  ({ home, port: smtpPort } = await applianceWithListener());
  [port, redirect] = [await freePort(), await freePort()];
  await writeFile(conf('admin.pw'), 'correct horse battery\n');
  await writeFile(conf('op.pw'), 'operator passphrase\n');
  await writeFile(conf('guest.pw'), 'guest passphrase 1\n');
  await shellOk(
    home,
    'userconfig new admin --role administrator --password-file admin.pw',
    'userconfig new ops --role operator --password-file op.pw',
    'userconfig new visitor --role guest --password-file guest.pw',
    'userconfig new clerk --role operator --password-file op.pw',
    `interfaceconfig edit Management --https ${port} --http-redirect ${redirect}`,
    'commit "accounts and HTTPS"',
  );
});
after(() => cleanup(home));

/** The certificate a new TLS connection to the interface is given. */
function peerSubject(): Promise<{ cn: string; socket: tls.TLSSocket }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => resolve({ cn: String(socket.getPeerCertificate().subject.CN), socket }));
    socket.on('error', reject);
  });
}

test('interfaceconfig turns HTTPS on; the demo certificate is presented and warned about; bad settings are refused', async () => {
  const list = await shellOk(home, 'interfaceconfig list');
  assert.match(list, new RegExp(`Management \\(127\\.0\\.0\\.1/[^)]+\\) HTTPS on port ${port} with the demo certificate, HTTP port ${redirect} redirects to it`));
  assert.match(await shellOk(home, 'status'), new RegExp(`HTTPS \\(GUI\\): +Management https://127\\.0\\.0\\.1:${port}/ with certificate Demo; HTTP port ${redirect} redirects to it`));
  const { cn, socket } = await peerSubject();
  socket.destroy();
  assert.match(cn, /./, 'a certificate is presented');
  for (const [line, why] of [
    [`interfaceconfig edit Management --https 0`, /--https: "0" is not a TCP port/],
    [`interfaceconfig edit Management --https-certificate nosuch`, /No certificate profile named "nosuch"/],
    [`interfaceconfig edit Management --https none --http-redirect 8080`, /--https-certificate and --http-redirect need --https PORT/],
  ] as const) {
    const r = await mxgate(home, ['-c', line]);
    assert.equal(r.code, 1, line);
    assert.match(r.stderr, why, line);
  }
  // The HTTPS port may not take a listener's port on the same address.
  const listenerPort = JSON.parse(await readFile(path.join(home, 'config', 'current.json'), 'utf8')).config.listeners[0].port;
  const clash = await mxgate(home, ['-c', `interfaceconfig edit Management --https ${listenerPort}`]);
  assert.equal(clash.code, 1);
  assert.match(clash.stderr, new RegExp(`port ${listenerPort} on interface Management \\(127\\.0\\.0\\.1\\) is already used by`));
});

test('the interfaceconfig dialog asks for HTTPS (on or off, port, certificate and redirect) and SSH', async () => {
  const other = await freePort();
  const sshPort = await freePort();
  const run = await mxgate(home, [], ['interfaceconfig', 'EDIT', '1', '', '', '', 'Y', String(other), '1', 'none', 'Y', String(sshPort), '', 'showchanges', 'clearchanges', ''].join('\n'));
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /Do you want to enable HTTPS \(the management interface\) on this interface\? \[Y\]/, 'the current state is the default');
  assert.match(run.stdout, /Which port do you want to use for HTTPS\?\n\[\d+\]>/);
  assert.match(run.stdout, /Choose the certificate the HTTPS service presents:\n1\. Demo \(demo: browsers will warn\)/);
  assert.match(run.stdout, new RegExp(`HTTPS on port ${other} with Demo`));
  assert.match(run.stdout, /Do you want to enable SSH \(the appliance shell for userconfig accounts\) on this interface\? \[N\]/);
  assert.match(run.stdout, new RegExp(`HTTPS on port ${other} with Demo, SSH on port ${sshPort}`));
  assert.match(run.stdout, new RegExp(`interface Management: HTTPS on port \\d+ with Demo[^\\n]* → on port ${other} with Demo`), 'showchanges lists it');
  assert.match(run.stdout, new RegExp(`interface Management: SSH off → on port ${sshPort}`));
});

test('TLS 1.2+ with forward-secret AEAD suites only, HSTS on every answer, HTTP only redirects', async () => {
  const offer = (options: tls.ConnectionOptions) =>
    new Promise<string>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options }, () => {
        resolve(`ok ${s.getProtocol()} ${s.getCipher().name}`);
        s.destroy();
      });
      s.on('error', (err) => resolve(`refused: ${err.message}`));
    });
  assert.match(await offer({ maxVersion: 'TLSv1.1', minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' }), /^refused/);
  assert.match(await offer({ maxVersion: 'TLSv1.2', ciphers: 'AES128-GCM-SHA256:AES256-SHA' }), /^refused/, 'no suite without forward secrecy');
  assert.match(await offer({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-SHA' }), /^refused/, 'no CBC suite');
  assert.match(await offer({ maxVersion: 'TLSv1.2' }), /^ok TLSv1\.2 ECDHE-/);
  assert.match(await offer({}), /^ok TLSv1\.3/);

  const gui = new GuiClient(port);
  const login = await gui.get('/login');
  assert.equal(login.headers['strict-transport-security'], 'max-age=31536000');
  assert.match(String(login.headers['content-security-policy']), /default-src 'none'/);

  const moved = await new Promise<http.IncomingMessage>((resolve, reject) => http.get({ host: '127.0.0.1', port: redirect, path: '/destinations?x=1' }, resolve).on('error', reject));
  moved.resume();
  assert.equal(moved.statusCode, 301);
  assert.equal(moved.headers.location, `https://127.0.0.1:${port}/destinations?x=1`, 'to the address the browser used');
  // By the interface's host name: to that name; by any other Host header: to the interface address, never elsewhere.
  const hostname = /Host name: +(\S+)/.exec(await shellOk(home, 'status'))![1]!;
  const via = async (host: string) => {
    const r = await new Promise<http.IncomingMessage>((resolve, reject) => http.get({ host: '127.0.0.1', port: redirect, path: '/', headers: { host } }, resolve).on('error', reject));
    r.resume();
    return String(r.headers.location);
  };
  assert.equal(await via(`${hostname.toUpperCase()}:${redirect}`), `https://${hostname}:${port}/`);
  assert.equal(await via('evil.example'), `https://127.0.0.1:${port}/`);
  assert.equal(await via('[::1]:80'), `https://127.0.0.1:${port}/`);
});

test('no page without a login, no form without its token; a wrong password is counted and locks out', async () => {
  const anon = new GuiClient(port);
  const home_ = await anon.get('/');
  assert.equal(home_.status, 303);
  assert.equal(home_.headers.location, '/login');
  assert.equal((await anon.post('/commit', { comment: 'x' }, false)).status, 401);

  const gui = new GuiClient(port);
  assert.equal((await gui.login('admin', 'correct horse battery')).status, 303);
  const session = gui.cookies.get('mxgate_session');
  assert.ok(session && session.length >= 40, 'a session cookie is set');
  await gui.get('/destinations');
  const forged = await gui.post('/destinations/new', { domain: 'forged.example', tls: 'required' }, false);
  assert.equal(forged.status, 403);
  assert.match(forged.body, /CSRF/);
  const wrongToken = await gui.post('/destinations/new', { _csrf: 'x'.repeat(43), domain: 'forged.example', tls: 'required' }, false);
  assert.equal(wrongToken.status, 403);
  assert.doesNotMatch((await gui.get('/destinations')).body, /forged\.example/, 'nothing was changed');

  // Five wrong passwords from one address: that address must wait, for any account ...
  const guesser = new GuiClient(port, '127.0.0.2');
  for (let i = 0; i < 5; i += 1) assert.equal((await guesser.login('ops', `wrong guess ${i}`)).status, 401);
  const limited = await guesser.login('visitor', 'guest passphrase 1');
  assert.equal(limited.status, 429);
  assert.match(limited.body, /Too many failed logins from your address; try again in \d+ s/);
  assert.ok(Number(limited.headers['retry-after']) > 0);
  // ... and the account is locked for that address, even for the right password, but not from elsewhere.
  const elsewhere = new GuiClient(port, '127.0.0.3');
  assert.equal((await elsewhere.login('ops', 'operator passphrase')).status, 303, 'five failures from another address lock nobody out here');
  assert.equal((await elsewhere.login('visitor', 'guest passphrase 1')).status, 303, 'other accounts and addresses are not affected');
  const audit = await readFile(path.join(home, 'logs', 'gui_logs', 'gui.current'), 'utf8');
  assert.match(audit, /GUI login: admin \(administrator\) from 127\.0\.0\.1/);
  assert.match(audit, /GUI login failed for ops from 127\.0\.0\.2; the account is locked for 15 minutes from 127\.0\.0\.2/);
  assert.match(audit, /GUI login refused for visitor from 127\.0\.0\.2: too many failures from this address/);
  assert.doesNotMatch(audit, /wrong guess|operator passphrase/, 'passwords are never logged');
});

test('roles: a guest reads but changes nothing; changes to certificates need an administrator', async () => {
  const guest = new GuiClient(port);
  assert.equal((await guest.login('visitor', 'guest passphrase 1')).status, 303);
  const page = await guest.get('/destinations');
  assert.equal(page.status, 200);
  assert.doesNotMatch(page.body, /Add Destination/, 'no edit forms for a guest');
  const refused = await guest.post('/destinations/new', { domain: 'guest.example', tls: 'required' });
  assert.equal(refused.status, 403);
  assert.match(refused.body, /needs the operator role/);
  assert.equal((await guest.get('/certificates')).status, 200);
  const cert = await guest.post('/certificates/delete', { name: 'Demo' });
  assert.equal(cert.status, 403);
});

test('edits are pending until Commit Changes; the shell sees the commit with the account; store rules give the shell\'s words', async () => {
  const gui = new GuiClient(port);
  await gui.login('admin', 'correct horse battery');
  await gui.get('/destinations');
  const bad = await gui.post('/destinations/new', { domain: 'not_a_host!', tls: 'required' });
  assert.equal(bad.status, 303);
  const shellSays = (await mxgate(home, ['-c', 'destconfig new not_a_host! --tls required'])).stderr;
  const guiSays = await gui.flash('/destinations');
  assert.match(guiSays, /"not_a_host!" is not a domain or "\.domain"/);
  assert.ok(shellSays.includes(guiSays), `the shell says the same: ${shellSays}`);
  const noTls = await gui.post('/destinations/new', { domain: 'x.example', tls: 'no', dane: 'mandatory' });
  assert.equal(noTls.status, 303);
  assert.match(await gui.flash('/destinations'), /DANE and MTA-STS need a TLS setting other than No/);

  await gui.post('/destinations/new', { domain: 'partner.example', tls: 'required-verify', dane: 'default', mtaSts: 'default' });
  assert.match(await gui.flash('/destinations'), /Destination control for partner\.example added\. Commit the changes/);
  assert.match(gui.last, /You have 1 uncommitted change\b/);
  assert.match(gui.last, /<li>destination partner\.example added: TLS Required \(Verify\)<\/li>/);
  // Edited again before the commit, it is still one addition; another entry is a second change, listed by its domain.
  await gui.post('/destinations/edit', { domain: 'partner.example', tls: 'required-verify', dane: 'opportunistic', mtaSts: 'default' });
  await gui.flash('/destinations');
  await gui.post('/destinations/new', { domain: 'second.example', tls: 'preferred', dane: 'default', mtaSts: 'default', ipSort: 'require-ipv4' });
  await gui.flash('/destinations');
  assert.match(gui.last, /You have 2 uncommitted changes<\/strong>/);
  assert.match(gui.last, /<span class="command">destconfig<\/span><ul><li>destination partner\.example added: TLS Required \(Verify\), DANE Opportunistic<\/li><li>destination second\.example added: TLS Preferred, IP sort preference Require IPv4<\/li><\/ul>/);
  assert.match(gui.last, /<td>second\.example<\/a><\/td><td>Preferred<\/td><td>[^<]*<\/td><td>[^<]*<\/td><td>Require IPv4<\/td>|second\.example<\/a><\/td>(?:<td>[^<]*<\/td>){3}<td>Require IPv4<\/td>/, 'the table shows the IP sort preference');
  assert.doesNotMatch(await shellOk(home, 'destconfig list'), /partner\.example/, 'not committed yet');

  await gui.post('/commit', { comment: 'partner needs verified TLS', back: '/destinations' });
  assert.match(await gui.flash('/destinations'), /committed as version \d+/);
  assert.doesNotMatch(gui.last, /uncommitted change/);
  assert.match(await shellOk(home, 'destconfig list'), /partner\.example +Required \(Verify\)/);
  assert.match(await shellOk(home, 'rollbackconfig list'), /admin +partner needs verified TLS +\(current\)/);
  assert.match(await readFile(path.join(home, 'logs', 'gui_logs', 'gui.current'), 'utf8'), /GUI commit: version \d+ by admin from 127\.0\.0\.1: partner needs verified TLS/);

  // A commit made in the shell shows in the GUI at once (no pending changes there).
  await shellOk(home, 'destconfig new shell.example --tls preferred', 'commit "from the shell"');
  assert.match((await gui.get('/destinations')).body, /shell\.example/);
  // An entry with its own TLS No does not inherit the new appliance's DANE and MTA-STS: shown as the shell shows it.
  await shellOk(home, 'destconfig new plain.example --tls no', 'commit "plain SMTP for plain.example"');
  const row = /plain\.example[\s\S]*?<\/tr>/.exec((await gui.get('/destinations')).body)?.[0] ?? '';
  assert.match(row, /None \(TLS is No\)[\s\S]*No \(TLS is No\)/, row);
});

test('a GUI session whose base is outdated is told, and its commit is refused, not applied over the newer version', async () => {
  const gui = new GuiClient(port);
  await gui.login('admin', 'correct horse battery');
  await gui.get('/destinations');
  await gui.post('/destinations/new', { domain: 'late.example', tls: 'preferred' });
  await shellOk(home, 'destconfig new early.example --tls required', 'commit "shell first"');
  const page = await gui.get('/destinations');
  assert.match(page.body, /Version \d+ was committed by \w+/);
  await gui.post('/commit', { comment: 'late' });
  assert.match(await gui.flash('/'), /Commit refused: The configuration was committed by .* after your changes were started/);
  assert.doesNotMatch(await shellOk(home, 'destconfig list'), /late\.example/);
  await gui.post('/abandon', {});
  assert.match(await gui.flash('/destinations'), /Pending changes abandoned/);
  assert.match(gui.last, /early\.example/);
});

test('rollback from the commit history loads the old version as pending changes', async () => {
  const gui = new GuiClient(port);
  await gui.login('admin', 'correct horse battery');
  const history = await gui.get('/commits');
  const versions = [...history.body.matchAll(/name="version" value="(\d+)"/g)].map((m) => Number(m[1]));
  const target = Math.min(...versions.filter((v) => v >= 3));
  await gui.post('/commits/rollback', { version: String(target) });
  assert.match(await gui.flash('/commits'), new RegExp(`Version ${target} is loaded as pending changes`));
  await gui.post('/commit', { comment: `Rollback to version ${target}` });
  assert.doesNotMatch(await shellOk(home, 'destconfig list'), /partner\.example/);
});

test('certificates through the GUI: self-signed + CSR, PKCS#12 export and import, a CA list; an operator may not', async () => {
  const clerk = new GuiClient(port, '127.0.0.4');
  assert.equal((await clerk.login('clerk', 'operator passphrase')).status, 303);
  await clerk.get('/certificates');
  const refused = await clerk.post('/certificates/new', { name: 'opcert', commonName: 'op.example.com', country: 'JP' });
  assert.equal(refused.status, 403);
  assert.match(refused.body, /needs the administrator role/);

  const gui = new GuiClient(port);
  await gui.login('admin', 'correct horse battery');
  await gui.get('/certificates');
  await gui.post('/certificates/new', { name: 'web', commonName: 'not a host', country: 'JP', fqdnCheck: 'on' });
  assert.match(await gui.flash('/certificates'), /^Common Name "not a host" is not in FQDN format\.$/);
  await gui.post('/certificates/new', { name: 'web', commonName: 'gw.example.com', country: 'JP', key: 'ecdsa-p256', days: '30', fqdnCheck: 'on' });
  assert.match(await gui.flash('/certificates'), /Self-signed certificate profile web created/);
  const csr = await gui.get('/certificates/csr?name=web');
  assert.equal(csr.status, 200);
  assert.match(csr.body, /^-----BEGIN CERTIFICATE REQUEST-----/);

  await gui.get('/certificates');
  const short = await gui.post('/certificates/export', { name: 'web', passphrase: 'short' });
  assert.equal(short.status, 303);
  const p12 = await gui.post('/certificates/export', { name: 'web', passphrase: 'export passphrase' });
  assert.equal(p12.status, 200);
  assert.equal(p12.headers['content-type'], 'application/x-pkcs12');
  await writeFile(conf('web.p12'), p12.raw);
  const { stdout } = await promisify(execFile)('openssl', ['pkcs12', '-in', conf('web.p12'), '-nokeys', '-passin', 'pass:export passphrase']);
  assert.match(stdout, /subject=.*CN ?= ?gw\.example\.com/);

  await gui.get('/certificates');
  const wrong = await gui.postFiles('/certificates/import', { name: 'again', passphrase: 'not it' }, { file: { name: 'web.p12', data: p12.raw } });
  assert.equal(wrong.status, 303);
  assert.match(await gui.flash('/certificates'), /^Invalid pass phrase or corrupt PKCS#12 file/);
  await gui.postFiles('/certificates/import', { name: 'again', passphrase: 'export passphrase' }, { file: { name: 'web.p12', data: p12.raw } });
  assert.match(await gui.flash('/certificates'), /Certificate profile again imported from PKCS#12/);

  await gui.postFiles('/certificates/authorities/import', {}, { file: { name: 'root.pem', data: Buffer.from(chain.root) } });
  assert.match(await gui.flash('/certificates'), /1 certificate\(s\) added to the custom list/);
  await gui.post('/certificates/delete', { name: 'again' });
  assert.match(await gui.flash('/certificates'), /Certificate profile again deleted/);
  await gui.post('/commit', { comment: 'certificates from the GUI' });
  const list = await shellOk(home, 'certconfig print');
  assert.match(list, /web/);
  assert.doesNotMatch(list, /again/);
  assert.match(await shellOk(home, 'certconfig certauthority custom print'), /Test Root CA/);
});

test("users: an administrator manages accounts with the shell's rules; anyone changes their own password at once", async () => {
  const gui = new GuiClient(port);
  await gui.login('admin', 'correct horse battery');
  await gui.get('/users');
  await gui.post('/users/new', { name: '9lives', role: 'guest', password: 'long enough pass', confirm: 'long enough pass' });
  assert.match(await gui.flash('/users'), /^Account name "9lives" must start with a lower-case letter/);
  await gui.post('/users/new', { name: 'carol', role: 'operator', password: 'carol secret 1', confirm: 'carol secret 1' });
  assert.match(await gui.flash('/users'), /The password must not contain the account name/);
  await gui.post('/users/new', { name: 'carol', role: 'operator', password: 'long enough pass', confirm: 'long enough pasS' });
  assert.match(await gui.flash('/users'), /The two passwords differ/);
  await gui.post('/users/new', { name: 'Carol', role: 'operator', password: 'long enough pass', confirm: 'long enough pass' });
  assert.match(await gui.flash('/users'), /Account carol created/);
  await gui.post('/commit', { comment: 'carol' });
  assert.match(await shellOk(home, 'userconfig'), /^carol +operator +0$/m);

  const carol = new GuiClient(port, '127.0.0.5');
  assert.equal((await carol.login('carol', 'long enough pass')).status, 303);
  await carol.get('/users');
  assert.doesNotMatch(carol.last, /Add User/, 'only administrators manage accounts');
  assert.equal((await carol.post('/users/delete', { name: 'admin' })).status, 403);
  await carol.post('/users/own-password', { current: 'wrong', password: 'a new long one', confirm: 'a new long one' });
  assert.match(await carol.flash('/users'), /The current password is wrong/);
  await carol.post('/users/own-password', { current: 'long enough pass', password: 'a new long one', confirm: 'a new long one' });
  assert.match(await carol.flash('/users'), /Your password changed \(committed as version \d+\)/);
  assert.match(await shellOk(home, 'rollbackconfig list'), /carol +Password change of carol +\(current\)/);
  assert.equal((await new GuiClient(port, '127.0.0.5').login('carol', 'a new long one')).status, 303, 'the new password works');
  assert.equal((await carol.get('/')).status, 200, 'the session goes on');
});

test('SSH in the GUI: the port, password login and host key fingerprints on IP Interfaces; keys on Users', async () => {
  const gui = new GuiClient(port);
  await gui.login('admin', 'correct horse battery');
  await gui.get('/interfaces');
  const printed = (await shellOk(home, 'sshconfig hostkey print')).match(/SHA256:\S+/g)!;
  for (const fp of printed) assert.ok(gui.last.includes(fp), `the page shows ${fp}`);
  const sshPort = await freePort();
  await gui.post('/interfaces/ssh', { interface: 'Management', ssh: String(sshPort) });
  await gui.post('/interfaces/ssh-settings', { idle: '15', sessions: '3' });
  await gui.post('/users/ssh-key', { name: 'ops', key: 'ssh-rsa AAAA' });
  assert.match(await gui.flash('/users'), /The ssh-rsa key cannot be read|no base64/);
  const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBZuvySqlYO/oIkf4V0pOU9anZQMw5nQpqPPF0nuqMzi ops@laptop';
  await gui.post('/users/ssh-key', { name: 'ops', key });
  assert.match(await gui.flash('/users'), /SSH key added to ops/);
  await gui.post('/commit', { comment: 'ssh from the GUI' });
  assert.match(await shellOk(home, 'interfaceconfig list'), new RegExp(`SSH on port ${sshPort}`));
  const settings = await shellOk(home, 'sshconfig print', 'sshconfig userkey print ops');
  assert.match(settings, /Password login: disabled/, 'an unticked box turns password login off');
  assert.match(settings, /closed after 15 minute\(s\); at most 3 session\(s\)/);
  assert.match(settings, /^1 +ssh-ed25519 +256 +SHA256:\S+ +ops@laptop$/m);
  const clerk = new GuiClient(port, '127.0.0.4');
  assert.equal((await clerk.login('clerk', 'operator passphrase')).status, 303);
  assert.equal((await clerk.post('/interfaces/ssh', { interface: 'Management', ssh: '' })).status, 403, 'an operator may not');
  await shellOk(home, 'interfaceconfig edit Management --ssh none', 'sshconfig password-auth enable', 'sshconfig userkey delete ops 1', 'commit "ssh off again"');
});

test('listeners: sender groups and the TLS of a mail flow policy, edited in the GUI, reach the SMTP listener on commit', async () => {
  const gui = new GuiClient(port);
  await gui.login('admin', 'correct horse battery');
  await gui.get('/listeners');
  await gui.post('/listeners/sender-add', { listener: 'InboundMail', group: 'BLOCKLIST', pattern: '300.1.1.1' });
  const shellSays = (await mxgate(home, ['-c', 'listenerconfig edit InboundMail hostaccess group BLOCKLIST add 300.1.1.1'])).stderr;
  const guiSays = await gui.flash('/listeners');
  assert.match(guiSays, /300\.1\.1\.1/);
  assert.ok(shellSays.includes(guiSays), `the shell says the same: ${shellSays} / ${guiSays}`);
  await gui.post('/listeners/sender-add', { listener: 'InboundMail', group: 'BLOCKLIST', pattern: '10.9.9.0/24' });
  assert.match(await gui.flash('/listeners'), /10\.9\.9\.0\/24 added to sender group BLOCKLIST/);
  await gui.post('/listeners/policy-tls', { listener: 'InboundMail', policy: '', tls: 'required' });
  assert.match(await gui.flash('/listeners'), /TLS of the default policy on listener InboundMail changed/);
  await gui.post('/listeners/policy-requiretls', { listener: 'InboundMail', policy: 'TRUSTED', requiretls: 'no' });
  assert.match(await gui.flash('/listeners'), /REQUIRETLS of policy \$TRUSTED on listener InboundMail changed/);
  await gui.post('/listeners/policy-requiretls', { listener: 'InboundMail', policy: '', requiretls: 'sometimes' });
  assert.match(await gui.flash('/listeners'), /REQUIRETLS is yes or no, not "sometimes"/);
  await gui.post('/commit', { comment: 'TLS required inbound' });
  const { probe, greeting } = await SmtpProbe.connect(smtpPort);
  assert.match(greeting, /^220 /);
  assert.match(await probe.send('EHLO t'), /STARTTLS/);
  assert.match(await probe.send('MAIL FROM:<a@example.org>'), /^530 /, 'TLS is required now');
  probe.close();
  const hat = await shellOk(home, 'listenerconfig edit InboundMail hostaccess print');
  assert.match(hat, /10\.9\.9\.0\/24/);
  assert.match(hat, /^\$TRUSTED\n {4}ACCEPT \{\n(?: {8}.*\n)* {8}requiretls = false$/m, 'the GUI turned REQUIRETLS off for $TRUSTED only');
  assert.match(hat, /^ {4}requiretls = true$/m, 'the default still offers it');
  await shellOk(home, 'listenerconfig edit InboundMail hostaccess default --tls off', 'commit "TLS off again"');
});

test('commit confirmed from the GUI: a banner with the time left on every page, confirmed with one button; bad minutes commit nothing', async () => {
  const gui = new GuiClient(port);
  await gui.login('admin', 'correct horse battery');
  await gui.get('/destinations');
  await gui.post('/destinations/new', { domain: 'confirm.example', tls: 'required' });
  await gui.get('/destinations');
  await gui.post('/commit', { comment: 'bad minutes', confirmMinutes: '0', back: '/destinations' });
  assert.match(await gui.flash('/destinations'), /Undo after: give the minutes, 1 to 1440, or leave it empty\. Nothing was committed\./);
  assert.doesNotMatch(await shellOk(home, 'destconfig list'), /confirm\.example/);

  await gui.post('/commit', { comment: 'with a safety net', confirmMinutes: '30', back: '/destinations' });
  const said = await gui.flash('/destinations');
  assert.match(said, /committed as version (\d+)\. It goes back to version \d+ at .* unless confirmed\./);
  const version = /version (\d+)\./.exec(said)![1];
  const other = await gui.get('/certificates');
  assert.match(other.body, new RegExp(`Version ${version} goes back to version \\d+ at .*\\(in about (30|29) minutes\\) unless it is confirmed`));
  assert.match(await shellOk(home, 'status'), /goes back to version/, 'the shell sees the same deadline');

  await gui.post('/commit/confirm', { back: '/certificates' });
  assert.match(await gui.flash('/certificates'), new RegExp(`Version ${version} is confirmed: it stays in service\\.`));
  assert.doesNotMatch((await gui.get('/destinations')).body, /id="confirmation"/);
  assert.match(await shellOk(home, 'destconfig list'), /confirm\.example/);
  // Turning HTTPS off on the interface this browser uses: refused, said, nothing committed.
  await gui.get('/interfaces');
  await gui.post('/interfaces/https', { interface: 'Management', https: '' });
  await gui.get('/interfaces');
  assert.match(gui.last, /<button class="secondary" type="submit" name="action" value="check"/);
  await gui.post('/commit', { comment: 'https off', back: '/interfaces', action: 'check' });
  assert.match(await gui.flash('/interfaces'), /^The pending changes can be committed: nothing was applied or recorded\. Note: This commit may lock you out: it turns HTTPS off on interface Management/);
  assert.match(gui.last, /You have 1 uncommitted change/, 'a check leaves the changes pending');
  await gui.post('/commit', { comment: 'https off', back: '/interfaces' });
  assert.match(await gui.flash('/interfaces'), /Commit refused: This commit may lock you out: it turns HTTPS off on interface Management, which this session uses \(HTTPS on 127\.0\.0\.1 port \d+\)\. Nothing was committed\. Commit with "Undo after" minutes/);
  await gui.post('/abandon', { back: '/interfaces' });
  assert.equal((await gui.get('/interfaces')).status, 200, 'HTTPS still answers');
  // The GUI's own audit log, on the Logs page and with the shell's grep.
  const logPage = (await gui.get('/logs?log=gui_logs&filter=GUI+commit')).body;
  assert.match(logPage, /GUI commit: version \d+ by admin from 127\.0\.0\.1: with a safety net/);
  assert.match(logPage, /GUI commit confirm: version \d+ by admin/);
  assert.match(await shellOk(home, 'grep "GUI login: admin" gui_logs'), /GUI login: admin \(administrator\) from 127\.0\.0\.1/);
});


test('the Alerts page names classes and severities, shows the sender it uses and times as the shell does', async () => {
  const gui = new GuiClient(port);
  assert.equal((await gui.login('admin', 'correct horse battery')).status, 303);
  await gui.get('/alerts');
  assert.equal((await gui.post('/alerts/recipients', { email: 'noc@example.com', classes: 'delivery', severities: 'warning' })).status, 303);
  const page = (await gui.get('/alerts')).body;
  assert.match(page, /<td>noc@example\.com<\/td><td>Message Delivery<\/td><td>Warning<\/td>/);
  assert.match(page, /<option value="delivery">Message Delivery<\/option>/);
  assert.doesNotMatch(page, /Anti-Spam|Hardware|Outbreak/);
  const hostname = /Host name: +(\S+)/.exec(await shellOk(home, 'status'))![1]!;
  assert.match(page, new RegExp(`Alerts come from alert@${hostname.replace(/\./g, '\\.')} \\(the default`));
  assert.doesNotMatch(page, /alert@&lt;hostname&gt;/);
  assert.doesNotMatch(page, /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/, 'no ISO times');
  // Which appliance: the host name in the title and the header.
  assert.match(page, new RegExp(`<title>Alerts — ${hostname.replace(/\./g, '\\.')} — mxgate</title>`));
  assert.match(page, new RegExp(`<span class="host">${hostname.replace(/\./g, '\\.')}</span>`));
});

test('pages say things in words: key types, the default TLS of a policy, "Password" for an account', async () => {
  const gui = new GuiClient(port);
  const login = (await gui.get('/login')).body;
  assert.match(login, /<label for="password">Password<\/label>/);
  assert.doesNotMatch(login, />Passphrase</);
  assert.equal((await gui.login('admin', 'correct horse battery')).status, 303);
  const certificates = (await gui.get('/certificates')).body;
  assert.match(certificates, /<option value="rsa2048" selected>RSA 2048<\/option><option value="rsa1024">RSA 1024 \(weak\)<\/option><option value="ecdsa-p256">ECDSA P-256<\/option>/);
  const listeners = (await gui.get('/listeners')).body;
  assert.match(listeners, /Use Default \(No\)/);
  assert.doesNotMatch(listeners, /Use Default \(off\)/);
});

test('a refused form keeps what was typed (never a password), and says why', async () => {
  const gui = new GuiClient(port);
  assert.equal((await gui.login('admin', 'correct horse battery')).status, 303);
  await gui.get('/destinations');
  const r = await gui.post('/destinations/new', { domain: 'bad_domain!.example', tls: 'required', dane: 'none', mtaSts: 'no', maxConcurrency: '7', messagesPerConnection: '' });
  assert.equal(r.status, 303);
  const page = (await gui.get('/destinations')).body;
  assert.match(page, /class="flash error"[^>]*>[^<]*bad_domain!\.example/);
  assert.match(page, /name="domain" type="text" required value="bad_domain!\.example"/);
  assert.match(page, /name="maxConcurrency" type="number" min="1" max="1000" placeholder="Default" value="7"/);
  const again = (await gui.get('/destinations')).body;
  assert.match(again, /name="domain" type="text" required value=""/, 'only on the page right after the refusal');
  await gui.get('/users');
  await gui.post('/users/new', { name: 'xyz', role: 'guest', password: 'short', confirm: 'short' });
  const users = (await gui.get('/users')).body;
  assert.doesNotMatch(users, /value="short"/, 'a password is never put back');
});

test('SMTP Routes and DNS pages do what smtproutes and dnsconfig do, with the same checks; the shell sees the commit', async () => {
  const gui = new GuiClient(port);
  assert.equal((await gui.login('ops', 'operator passphrase')).status, 303);
  await gui.get('/smtp-routes');
  await gui.post('/smtp-routes', { domain: 'routed-by-gui.example', hosts: '127.0.0.1:2625, mx.routed-by-gui.example' });
  assert.match(await gui.flash('/smtp-routes'), /Mail for routed-by-gui\.example goes to/);
  await gui.post('/smtp-routes', { domain: 'bücher.example', hosts: '127.0.0.1' });
  assert.match(await gui.flash('/smtp-routes'), /give its A-label "xn--bcher-kva\.example"/, 'the shell\'s words');
  await gui.post('/smtp-routes', { domain: 'bad-port.example', hosts: 'mx.example:99999' });
  assert.match(await gui.flash('/smtp-routes'), /the port must be 1-65535/);
  const routes = (await gui.get('/smtp-routes')).body;
  assert.match(routes, /<td>routed-by-gui\.example<\/td><td>127\.0\.0\.1:2625, mx\.routed-by-gui\.example:25<\/td>/);
  await gui.get('/dns');
  await gui.post('/dns', { servers: '127.0.0.1:5300, ::1', validation: 'builtin' });
  assert.match(await gui.flash('/dns'), /DNS settings changed/);
  await gui.post('/dns', { servers: 'dns.example', validation: 'builtin' });
  assert.match(await gui.flash('/dns'), /DNS server "dns\.example" must be an IP address/);
  await gui.get('/');
  assert.equal((await gui.post('/commit', { comment: 'routes and DNS from the GUI' })).status, 303);
  assert.match(await shellOk(home, 'smtproutes list'), /routed-by-gui\.example → 127\.0\.0\.1:2625, mx\.routed-by-gui\.example:25/);
  assert.match(await shellOk(home, 'dnsconfig'), /127\.0\.0\.1:5300/);
  const dnsPage = (await gui.get('/dns')).body;
  assert.match(dnsPage, /<tr><th>Resolvers<\/th><td>127\.0\.0\.1:5300, ::1<\/td><\/tr>/);
  // Put the resolvers back for the tests that follow.
  await shellOk(home, 'dnsconfig servers system', 'smtproutes delete routed-by-gui.example', 'commit "back"');
});

test('the Bounce Profiles page does what bounceconfig does, with the same checks; a profile in use or "Default" cannot be deleted; the shell sees the commit', async () => {
  const gui = new GuiClient(port);
  assert.equal((await gui.login('ops', 'operator passphrase')).status, 303);
  const page = (await gui.get('/bounce-profiles')).body;
  assert.match(page, /<tr><td>Default<\/td><td>100<\/td><td>259200<\/td><td>60 doubling up to 3600<\/td><td>Yes<\/td><td>No<\/td><td>the envelope sender<\/td><td>the default destination entry<\/td>\s*<td><\/td><\/tr>/, 'Default has no Delete button');
  const form = { name: 'GuiProfile', maxRetries: '5', maxQueueSeconds: '3600', retryInitialSeconds: '30', retryMaxSeconds: '300', hardBounces: 'no', warningInterval: '600', maxWarnings: '2', alternateAddress: 'postmaster@example.com' };
  await gui.post('/bounce-profiles', form);
  assert.match(await gui.flash('/bounce-profiles'), /Bounce profile GuiProfile added/);
  await gui.post('/bounce-profiles', { ...form, name: 'Refused', maxRetries: '10001' });
  const refused = (await gui.get('/bounce-profiles')).body;
  assert.match(refused, /Maximum number of retries must be a whole number from 0 to 10000, not &quot;10001&quot;/);
  assert.match(refused, /name="maxRetries" type="number"[^>]* value="10001"/, 'the refused form keeps what was typed');
  await gui.post('/bounce-profiles', { ...form, name: 'Refused', retryInitialSeconds: '600', retryMaxSeconds: '60' });
  assert.match(await gui.flash('/bounce-profiles'), /maximum retry interval cannot be less than the initial one/);
  await gui.post('/bounce-profiles', { ...form, maxRetries: '7' });
  assert.match(await gui.flash('/bounce-profiles'), /Bounce profile GuiProfile changed/);
  await gui.post('/bounce-profiles/delete', { name: 'Default' });
  assert.match(await gui.flash('/bounce-profiles'), /"Default" cannot be deleted/);
  await gui.get('/');
  assert.equal((await gui.post('/commit', { comment: 'a bounce profile from the GUI' })).status, 303);
  assert.match(await shellOk(home, 'bounceconfig detail GuiProfile'), /Maximum number of retries: 7\n[^]*Hard bounce messages: No\n {4}Delay warnings: Yes, every 600 seconds at most, 2 at most\n {4}Bounce and warning messages go to: postmaster@example\.com/);
  await shellOk(home, 'destconfig new gui-bounce.example --bounce-profile GuiProfile', 'commit "uses it"');
  await gui.get('/bounce-profiles');
  await gui.post('/bounce-profiles/delete', { name: 'GuiProfile' });
  assert.match(await gui.flash('/bounce-profiles'), /The bounce profile "GuiProfile" is used by gui-bounce\.example/);
  const guest = new GuiClient(port);
  assert.equal((await guest.login('visitor', 'guest passphrase 1')).status, 303);
  assert.doesNotMatch((await guest.get('/bounce-profiles')).body, /<form method="post" action="\/bounce-profiles">/, 'a guest only looks');
  assert.equal((await guest.post('/bounce-profiles/delete', { name: 'GuiProfile' })).status, 403);
  await shellOk(home, 'destconfig delete gui-bounce.example', 'bounceconfig delete GuiProfile', 'commit "back"');
});

test('Destination Controls: the bounce profile, bounce verification and how limits apply are set in the GUI as destconfig sets them', async () => {
  const gui = new GuiClient(port);
  assert.equal((await gui.login('ops', 'operator passphrase')).status, 303);
  await shellOk(home, 'bounceconfig new GuiDest --max-retries 9', 'commit "a profile for the destination page"');
  const page = (await gui.get('/destinations')).body;
  assert.match(page, /<select name="bounceProfile"><option value="default" selected>Default<\/option><option value="Default">Default<\/option><option value="GuiDest">GuiDest<\/option><\/select>/);
  const form = { domain: 'limits.example', tls: 'preferred', dane: 'default', mtaSts: 'default', ipSort: 'default', maxConcurrency: '3', limitType: 'mx-ip', limitScope: 'default', messagesPerConnection: '', bounceVerification: 'yes', bounceProfile: 'GuiDest' };
  await gui.post('/destinations/new', form);
  assert.match(await gui.flash('/destinations'), /Destination control for limits\.example added/);
  await gui.post('/destinations/new', { ...form, domain: 'nope.example', bounceProfile: 'Missing' });
  assert.match(await gui.flash('/destinations'), /destination nope\.example: bounce profile "Missing" does not exist/);
  const edit = (await gui.get('/destinations/edit?domain=limits.example')).body;
  assert.match(edit, /<option value="mx-ip" selected>Separate limit for each mail exchanger IP address<\/option>/);
  assert.match(edit, /<option value="yes" selected>Yes<\/option>/);
  await gui.get('/');
  assert.equal((await gui.post('/commit', { comment: 'limits and bounces from the GUI' })).status, 303);
  const detail = await shellOk(home, 'destconfig detail limits.example');
  assert.match(detail, /Maximum concurrency: 3\n {4}Limits apply: Separate limit for each mail exchanger IP address\n {4}Limits are enforced: System Wide \(Default\)\n/);
  assert.match(detail, /Bounce verification address tagging: Yes\n {4}Bounce profile: GuiDest\n/);
  await shellOk(home, 'destconfig delete limits.example', 'bounceconfig delete GuiDest', 'commit "back"');
});

test('a listener added on the Listeners page receives mail after the commit, with the domains it was given; deleted, its port closes', async () => {
  const gui = new GuiClient(port);
  assert.equal((await gui.login('admin', 'correct horse battery')).status, 303);
  const newPort = await freePort();
  await gui.get('/listeners');
  await gui.post('/listeners/new', { name: 'GuiInbound', type: 'public', interface: 'Management', port: '99999', domains: 'gui-listener.example', relay: '', certificate: '' });
  const refused = (await gui.get('/listeners')).body;
  assert.match(refused, /&quot;99999&quot; is not a TCP port \(1-65535\)\./, 'a bad port is refused in the shell\'s words');
  assert.match(refused, /id="lname" name="name" type="text" required value="GuiInbound"/, 'the refused form keeps what was typed');
  await gui.post('/listeners/new', { name: 'InboundMail', type: 'public', interface: 'Management', port: String(newPort), domains: '', relay: '', certificate: '' });
  assert.match(await gui.flash('/listeners'), /A listener named "InboundMail" already exists/);
  await gui.post('/listeners/new', { name: 'GuiInbound', type: 'public', interface: 'Management', port: String(newPort), domains: 'gui-listener.example', relay: '', certificate: '' });
  assert.match(await gui.flash('/listeners'), /Listener GuiInbound created/);
  await gui.get('/');
  assert.equal((await gui.post('/commit', { comment: 'a listener from the GUI' })).status, 303);
  const { probe } = await SmtpProbe.connect(newPort);
  await probe.send('EHLO gui.test');
  await probe.send('MAIL FROM:<a@example.org>');
  assert.match(await probe.send('RCPT TO:<someone@gui-listener.example>'), /^250/, 'the domain given at creation is accepted');
  assert.match(await probe.send('RCPT TO:<someone@elsewhere.example>'), /^550/);
  await probe.send('QUIT');
  await gui.get('/listeners');
  await gui.post('/listeners/policy-untagged', { listener: 'GuiInbound', policy: '', untagged: 'no' });
  assert.match(await gui.flash('/listeners'), /Accept untagged bounces of the default policy on listener GuiInbound changed/);
  await gui.post('/listeners/policy-untagged', { listener: 'GuiInbound', policy: 'ACCEPTED', untagged: 'sometimes' });
  assert.match(await gui.flash('/listeners'), /Accept untagged bounces is yes or no, not "sometimes"/);
  assert.match((await gui.get('/listeners')).body, /<option value="no" selected>Refused \(while tagging keys exist\)<\/option>/);
  await gui.post('/listeners/delete', { listener: 'GuiInbound' });
  assert.match(await gui.flash('/listeners'), /Listener GuiInbound deleted/);
  await gui.get('/');
  assert.equal((await gui.post('/commit', { comment: 'GUI listener deleted' })).status, 303);
  assert.equal(await accepts(newPort), false, 'its port is closed');
  assert.doesNotMatch(await shellOk(home, 'showconfig'), /GuiInbound/);
});

test('the Queue page lists the waiting recipients; Deliver now and Bounce act at once, as the shell\'s commands do; a guest only looks', async () => {
  const mid = await submitMail(smtpPort, 'user@example.net', 'waiting for the GUI');
  const gui = new GuiClient(port);
  assert.equal((await gui.login('ops', 'operator passphrase')).status, 303);
  const list = (await gui.get('/queue')).body;
  assert.match(list, new RegExp(`<tr><td>${mid}</td><td>sender@example\\.org</td><td>user@example\\.net</td>`));
  await gui.post('/queue/deliver', { domain: 'example.net' });
  assert.match(await gui.flash('/queue'), /deliver now for example\.net: \d+ message\(s\) tried again at once/);
  const guest = new GuiClient(port);
  assert.equal((await guest.login('visitor', 'guest passphrase 1')).status, 303);
  assert.match((await guest.get('/queue')).body, new RegExp(`<td>${mid}</td>`));
  assert.equal((await guest.post('/queue/bounce', { mid: String(mid) })).status, 403, 'a guest may not bounce');
  await gui.get('/queue');
  await gui.post('/queue/bounce', { mid: String(mid) });
  assert.match(await gui.flash('/queue'), new RegExp(`bounce of MID ${mid}: 1 recipient\\(s\\) bounced`));
  assert.doesNotMatch(await shellOk(home, 'showrecipients'), new RegExp(`MID ${mid} `));
  assert.match(await readFile(path.join(home, 'logs', 'gui_logs', 'gui.current'), 'utf8'), new RegExp(`GUI bounce of MID ${mid}: 1 recipient\\(s\\) bounced, the sender gets a DSN by ops from 127\\.0\\.0\\.1`));
});

test('the recipient access table on the Listeners page: a domain added in the GUI is accepted by SMTP after the commit, removed it is refused', async () => {
  const gui = new GuiClient(port);
  assert.equal((await gui.login('ops', 'operator passphrase')).status, 303);
  await gui.get('/listeners');
  await gui.post('/listeners/rcpt-add', { listener: 'InboundMail', domain: 'bücher.example' });
  assert.match(await gui.flash('/listeners'), /give its A-label "xn--bcher-kva\.example"/);
  await gui.post('/listeners/rcpt-add', { listener: 'InboundMail', domain: 'gui-rat.example' });
  assert.match(await gui.flash('/listeners'), /InboundMail accepts mail for gui-rat\.example/);
  await gui.post('/commit', { comment: 'accept gui-rat.example' });
  assert.ok((await submitMail(smtpPort, 'user@gui-rat.example', 'accepted after the GUI commit')) > 0);
  await gui.get('/listeners');
  await gui.post('/listeners/rcpt-remove', { listener: 'InboundMail', domain: 'gui-rat.example' });
  await gui.get('/');
  await gui.post('/commit', { comment: 'no more gui-rat.example' });
  await assert.rejects(submitMail(smtpPort, 'user@gui-rat.example', 'refused now'), /550|Recipient|rejected/i);
  await shellOk(home, 'bouncerecipients --domain gui-rat.example');
});

test('a commit that changes the HTTPS certificate is seen by new connections while an open one goes on', async () => {
  const old = await peerSubject();
  await useChainCertificate(home, chain, 'interfaceconfig edit Management --https-certificate mx1');
  const fresh = await peerSubject();
  assert.equal(fresh.cn, 'mx.test.example');
  assert.notEqual(old.cn, 'mx.test.example');
  assert.equal(old.socket.destroyed, false, 'the connection made before the commit is still open');
  old.socket.destroy();
  fresh.socket.destroy();
  const { stdout } = await promisify(execFile)('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'mx.test.example'], { timeout: 10_000 }).catch((e: { stdout: string }) => e);
  assert.match(stdout, /subject=CN ?= ?mx\.test\.example/);
  const del = await mxgate(home, ['-c', 'certconfig delete mx1']);
  assert.match(del.stderr, /used by .*HTTPS on interface Management/);
  // Off again: the port is closed after the commit.
  await shellOk(home, 'interfaceconfig edit Management --https none', 'commit "GUI off"');
  await assert.rejects(peerSubject());
});
