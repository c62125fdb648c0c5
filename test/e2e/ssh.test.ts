import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { BIN, cleanup, freePort, mxgate, type Run, runProgram, shellOk, stopEngine, TEST_ENV, tempHome, until } from '../helpers.js';
import { KEY, Terminal } from '../terminal.js';

/**
 * The SSH service, judged by Debian's OpenSSH client on loopback: host key fingerprints, key and
 * password logins, refusals and lock-out, one command and piped scripts with their exit
 * statuses, an interactive session on a pseudo-terminal, roles, forwarding refused, and a port
 * that moves by a commit made over SSH itself while the host key stays the same.
 */
const run = promisify(execFile);
let home: string;
let port: number;
let keyDir: string;
const PASSWORD = 'correct horse battery';
const IDLE_SECONDS = 8;

/** The OpenSSH client: no known_hosts, no agent, the test's own key unless told otherwise. */
function sshArgs(user: string, options: { key?: string; password?: boolean; from?: string; port?: number; extra?: string[] } = {}): string[] {
  const auth = options.password
    ? ['-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password', '-o', 'NumberOfPasswordPrompts=1']
    : ['-i', path.join(keyDir, options.key ?? 'admin'), '-o', 'IdentitiesOnly=yes', '-o', 'PasswordAuthentication=no', '-o', 'BatchMode=yes'];
  return [
    '-p', String(options.port ?? port),
    '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'IdentityAgent=none',
    ...(options.from ? ['-b', options.from] : []),
    ...auth,
    ...(options.extra ?? []),
    `${user}@127.0.0.1`,
  ];
}

/** Run ssh with `input` on stdin (a password comes from SSH_ASKPASS). */
function ssh(user: string, command: string[], input = '', options: Parameters<typeof sshArgs>[1] & { askpass?: string } = {}): Promise<Run> {
  const env = { ...process.env, ...(options.askpass ? { SSH_ASKPASS: options.askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' } : {}) };
  return runProgram('ssh', [...sshArgs(user, options), ...command], input, env);
}

const audit = () => readFile(path.join(home, 'logs', 'cli_logs', 'cli.current'), 'utf8');

async function askpass(name: string, password: string): Promise<string> {
  const file = path.join(keyDir, name);
  await writeFile(file, `#!/bin/sh\necho '${password}'\n`);
  await chmod(file, 0o700);
  return file;
}

async function newKey(name: string): Promise<string> {
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${name}@test`, '-f', path.join(keyDir, name)]);
  return (await readFile(path.join(keyDir, `${name}.pub`), 'utf8')).trim();
}

/** `256 SHA256:… (ED25519)` lines, as `ssh-keygen -l` prints what a client sees at the first connection. */
async function scannedFingerprints(at: number): Promise<string[]> {
  const { stdout: keys } = await run('ssh-keyscan', ['-p', String(at), '-t', 'ed25519,rsa', '127.0.0.1']);
  const file = path.join(keyDir, `scan-${at}`);
  await writeFile(file, keys);
  const { stdout } = await run('ssh-keygen', ['-l', '-f', file]);
  return stdout.trim().split('\n').map((l) => l.replace(/ \[127\.0\.0\.1\]:\d+ /, ' ')).sort();
}

before(async () => {
  home = await tempHome();
  keyDir = await tempHome();
  port = await freePort();
  await writeFile(path.join(keyDir, 'pw'), `${PASSWORD}\n`);
  // Sessions without input close after IDLE_SECONDS here (the configured minutes otherwise).
  const started = await new Promise<number | null>((resolve) =>
    spawn(process.execPath, [BIN, '--home', home, 'engine', 'start'], { env: { ...TEST_ENV, MXGATE_SSH_IDLE_SECONDS: String(IDLE_SECONDS) }, stdio: 'ignore' }).on('close', resolve),
  );
  assert.equal(started, 0);
  await mkdir(path.join(home, 'configuration'), { recursive: true, mode: 0o700 });
  await writeFile(path.join(home, 'configuration', 'admin.pw'), `${PASSWORD}\n`);
  const adminKey = await newKey('admin');
  await newKey('stranger');
  const operKey = await newKey('oper');
  const guestKey = await newKey('guest');
  await shellOk(
    home,
    'userconfig new admin --role administrator --password-file admin.pw',
    'userconfig new oper --role operator --password-file admin.pw',
    'userconfig new viewer --role guest --password-file admin.pw',
    'userconfig new victim --role operator --password-file admin.pw',
    `sshconfig userkey new admin --key "${adminKey}"`,
    `sshconfig userkey new oper --key "${operKey}"`,
    `sshconfig userkey new viewer --key "${guestKey}"`,
    `interfaceconfig edit Management --ssh ${port}`,
    'commit "ssh on"',
  );
});
after(async () => {
  await stopEngine(home);
  await cleanup(home);
  await cleanup(keyDir);
});

test('the host keys are 0600 in keys/ and their fingerprints are what ssh sees', async () => {
  for (const f of ['ssh_host_ed25519_key', 'ssh_host_rsa_key']) assert.equal((await stat(path.join(home, 'keys', f))).mode & 0o777, 0o600, f);
  const printed = await shellOk(home, 'sshconfig hostkey print');
  const lines = printed.split('\n').filter((l) => /^\d+ SHA256:/.test(l)).sort();
  assert.equal(lines.length, 2);
  assert.deepEqual(lines, await scannedFingerprints(port));
  assert.match(lines.join('\n'), /^3072 SHA256:\S+ \(RSA\)$/m);
  assert.match(lines.join('\n'), /^256 SHA256:\S+ \(ED25519\)$/m);
});

test('one command runs in batch form and its exit status is the SSH exit status', async () => {
  const ok = await ssh('admin', ['status']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, new RegExp(`SSH: +Management 127\\.0\\.0\\.1 port ${port}: 1 logged in \\(admin from 127\\.0\\.0\\.1\\)`));
  const bad = await ssh('admin', ['destconfig new bad..example']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /destconfig: "bad\.\.example" is not a domain/);
  const unknown = await ssh('admin', ['frobnicate']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /Unknown command: 'frobnicate'/);
  assert.match(await audit(), /SSH session: admin from 127\.0\.0\.1: command "destconfig new bad\.\.example"\n.*ended with exit status 1/);
});

test('a piped script has the local pipe semantics and output; a commit over SSH records the account', async () => {
  const failing = 'destconfig new example.org --tls required\nbogus\ncommit\n';
  const remote = await ssh('admin', [], failing);
  const local = await mxgate(home, [], failing);
  assert.equal(remote.code, 1);
  assert.equal(local.code, 1);
  assert.equal(remote.stdout, local.stdout, 'the transcript is the one a local pipe prints');
  assert.match(remote.stderr, /line 2: Unknown command: 'bogus'/);
  assert.match(remote.stderr, /Stopped at line 2: nothing after it ran, and the pending changes were discarded/);
  assert.doesNotMatch(await shellOk(home, 'destconfig list'), /example\.org/);

  const good = await ssh('admin', [], 'destconfig new example.net --tls required\ncommit "partner over ssh"\n');
  assert.equal(good.code, 0, good.stderr);
  assert.match(await shellOk(home, 'rollbackconfig list'), /^\d+ +.+ +admin +partner over ssh +\(current\)$/m);
  // The audit log is readable from the shell: the login and the commit, with its account and address.
  const audit = await shellOk(home, 'tail cli_logs --lines 50', 'grep "SSH commit" cli_logs');
  assert.match(audit, /SSH login: admin \(administrator\) from 127\.0\.0\.1 with key SHA256:/);
  assert.match(audit, /SSH commit: version \d+ by admin from 127\.0\.0\.1: partner over ssh/);
});

test('password login works, is refused when wrong and when disabled; a wrong key is refused and counted', async () => {
  const right = await askpass('right', PASSWORD);
  const ok = await ssh('admin', ['version'], '', { password: true, askpass: right });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /mxgate version/);
  assert.match(await audit(), /SSH login: admin \(administrator\) from 127\.0\.0\.1 with password/);

  const wrong = await ssh('oper', ['version'], '', { password: true, askpass: await askpass('wrong', 'not the password'), from: '127.0.0.6' });
  assert.equal(wrong.code, 255);
  assert.match(wrong.stderr, /Permission denied/);
  assert.match(await audit(), /SSH login failed for oper from 127\.0\.0\.6: wrong account name or password/);

  const stranger = await ssh('admin', ['version'], '', { key: 'stranger', from: '127.0.0.6' });
  assert.equal(stranger.code, 255);
  const fingerprint = (await run('ssh-keygen', ['-l', '-f', path.join(keyDir, 'stranger.pub')])).stdout.split(' ')[1]!;
  await until(home, 'the refused key in the audit log', async () => (await audit()).includes(`SSH login failed for admin from 127.0.0.6: no accepted key (offered ${fingerprint})`));

  await shellOk(home, 'sshconfig password-auth disable', 'commit "keys only"');
  const disabled = await ssh('admin', ['version'], '', { password: true, askpass: right });
  assert.equal(disabled.code, 255);
  assert.match(disabled.stderr, /Permission denied \(publickey\)/);
  assert.equal((await ssh('admin', ['version'])).code, 0, 'keys still work');
  await shellOk(home, 'sshconfig password-auth enable', 'commit "passwords again"');
});

test('five failures lock the account for that address only: elsewhere the right password, and anywhere a key, still get in; userconfig unlock lifts it', async () => {
  const victimKey = await newKey('victim');
  await shellOk(home, `sshconfig userkey new victim --key "${victimKey}"`, 'commit "victim key"');
  const wrong = await askpass('wrong2', 'still not it');
  for (let i = 0; i < 5; i++) {
    const r = await ssh('victim', ['version'], '', { password: true, askpass: wrong, from: '127.0.0.10' });
    assert.equal(r.code, 255);
  }
  const right = await askpass('right2', PASSWORD);
  assert.equal((await ssh('victim', ['version'], '', { password: true, askpass: right, from: '127.0.0.10' })).code, 255, 'the locked address is refused the right password');
  assert.equal((await ssh('victim', ['version'], '', { key: 'victim', from: '127.0.0.10' })).code, 0, 'a key login is never refused for password failures');
  assert.equal((await ssh('victim', ['version'], '', { password: true, askpass: right, from: '127.0.0.20' })).code, 0, 'another address is not locked out');
  const log = await audit();
  assert.match(log, /SSH login failed for victim from 127\.0\.0\.10: wrong account name or password; the account is locked for 15 minutes from 127\.0\.0\.10/);
  assert.match(log, /SSH login refused for victim from 127\.0\.0\.10: /);
  assert.doesNotMatch(log, /correct horse|still not it/, 'no password in the audit log');
  assert.match(await shellOk(home, 'status'), /Locked out: +victim from 127\.0\.0\.10 after failed logins; "userconfig unlock victim" lifts it/);
  const refused = await ssh('oper', ['userconfig unlock victim'], '', { key: 'oper' });
  assert.match(refused.stderr, /Your account oper \(operator\) may not unlock accounts; that needs the administrator role/);
  const unlocked = await ssh('admin', ['userconfig unlock victim']);
  assert.equal(unlocked.code, 0, unlocked.stderr);
  assert.match(unlocked.stdout, /Account victim unlocked: it was locked out from 1 address\(es\)/);
  assert.equal((await ssh('victim', ['version'], '', { password: true, askpass: right, from: '127.0.0.10' })).code, 0, 'unlocked at once');
});

test('roles: a guest looks but commits nothing, an operator may not touch accounts; files stay in the configuration directory', async () => {
  assert.equal((await ssh('viewer', ['status'], '', { key: 'guest' })).code, 0);
  const guestCommit = await ssh('viewer', [], 'destconfig new guest.example --tls required\ncommit\n', { key: 'guest' });
  assert.equal(guestCommit.code, 1);
  assert.match(guestCommit.stderr, /Your account viewer \(guest\) may not commit changes; that needs the operator role/);
  assert.match((await ssh('viewer', ['deliverynow'], '', { key: 'guest' })).stderr, /may not run deliverynow/);

  const operOk = await ssh('oper', [], 'destconfig new oper.example --tls required\ncommit "by oper"\n', { key: 'oper' });
  assert.equal(operOk.code, 0, operOk.stderr);
  const operKeys = await ssh('oper', [], 'sshconfig password-auth disable\ncommit\n', { key: 'oper' });
  assert.equal(operKeys.code, 1);
  assert.match(operKeys.stderr, /Your account oper \(operator\) may not commit changes to the SSH settings/);
  assert.match((await ssh('oper', ['saveconfig'], '', { key: 'oper' })).stderr, /may not write .* to the configuration directory; that needs the administrator role/);

  const outside = await ssh('admin', ['sshconfig userkey new admin --key-file /etc/passwd']);
  assert.equal(outside.code, 1);
  assert.match(outside.stderr, /"\/etc\/passwd" is not a file name: give a bare name/);
  assert.match(await shellOk(home, 'rollbackconfig list'), /oper +by oper/);
});

test('modern algorithms only: curve25519 and chacha20-poly1305 are chosen; SHA-1, CBC/CTR and ssh-rsa host keys are refused', async () => {
  const chosen = await ssh('admin', ['version'], '', { extra: ['-v'] });
  assert.equal(chosen.code, 0, chosen.stderr);
  assert.match(chosen.stderr, /kex: algorithm: curve25519-sha256/);
  assert.match(chosen.stderr, /kex: host key algorithm: ssh-ed25519/);
  assert.match(chosen.stderr, /kex: server->client cipher: chacha20-poly1305@openssh\.com/);
  for (const [option, why] of [
    ['KexAlgorithms=diffie-hellman-group14-sha1,diffie-hellman-group-exchange-sha1', /no matching key exchange method/],
    ['Ciphers=aes128-ctr,aes256-cbc', /no matching cipher/],
    ['HostKeyAlgorithms=ssh-rsa', /Received disconnect from 127\.0\.0\.1|Connection closed by 127\.0\.0\.1|no matching host key type/],
  ] as const) {
    const refused = await ssh('admin', ['version'], '', { extra: ['-v', '-o', option] });
    assert.equal(refused.code, 255, option);
    assert.match(refused.stderr, why, option);
  }
  assert.match(await audit(), /closed: the client accepts only ssh-rsa \(SHA-1\) host key signatures/);
  const rsa = await ssh('admin', ['version'], '', { extra: ['-o', 'HostKeyAlgorithms=rsa-sha2-512'] });
  assert.equal(rsa.code, 0, 'the RSA host key signs with SHA-512');
});

test('no forwarding of any kind, no subsystems', async () => {
  const stdio = await ssh('admin', [], '', { extra: ['-W', '127.0.0.1:25'] });
  assert.equal(stdio.code, 255);
  assert.match(stdio.stderr, /stdio forwarding failed|administratively prohibited|open failed/);
  const remote = await ssh('admin', [], '', { extra: ['-N', '-o', 'ExitOnForwardFailure=yes', '-R', '127.0.0.1:0:127.0.0.1:25'] });
  assert.equal(remote.code, 255);
  assert.match(remote.stderr, /remote port forwarding failed/);
  const sftp = await ssh('admin', ['sftp'], '', { extra: ['-s'] });
  assert.equal(sftp.code, 255);
  assert.match(sftp.stderr, /subsystem request failed/);
  const log = await audit();
  assert.match(log, /SSH forwarding refused: admin from 127\.0\.0\.1 asked for 127\.0\.0\.1:25/);
  assert.match(log, /SSH request refused: admin from 127\.0\.0\.1 asked for tcpip-forward/);
});

test('interactive ssh -tt: prompt, Tab, history, Ctrl-C, window size, Ctrl-D', async () => {
  const t = Terminal.program(['ssh', '-tt', ...sshArgs('admin')]);
  try {
    let at = await t.waitFor(/> $/);
    t.type(`sslc${KEY.tab}`);
    at = await t.waitFor(/sslconfig/, at);
    t.type(KEY.enter);
    at = await t.waitFor(/PEER_CERT_X509[\s\S]*> $/, at);
    t.line('version');
    at = await t.waitFor(/mxgate version [\s\S]*> $/, at);
    t.type('\x1b[A'); // Up: the last line again
    at = await t.waitFor(/> version$/, at);
    t.type(KEY.enter);
    at = await t.waitFor(/mxgate version [\s\S]*> $/, at);
    t.line('passwd admin');
    at = await t.waitFor(/Enter the password for admin:/, at);
    t.type('secret typed here');
    at = await t.waitFor(/\*{17}/, at);
    assert.doesNotMatch(t.text, /secret typed here/, 'the passphrase is masked');
    t.type(KEY.ctrlC);
    at = await t.waitFor(/passwd cancelled[\s\S]*> $/, at);
    t.line('interfaceconfig');
    at = await t.waitFor(/- EDIT - [\s\S]*\[\]> $/, at);
    t.type(KEY.ctrlC);
    at = await t.waitFor(/interfaceconfig cancelled[\s\S]*> $/, at);
    t.type(KEY.ctrlD);
    assert.equal(await t.exited(), 0);
  } finally {
    t.kill();
  }
  assert.match(await audit(), /SSH session: admin from 127\.0\.0\.1: shell \(xterm 120x40\)/);

  // The account's history carries over to its next session, and only to its own.
  for (const [user, key, expected] of [['admin', 'admin', /> interfaceconfigZ$/], ['oper', 'oper', /[^g]> Z$/]] as const) {
    const next = Terminal.program(['ssh', '-tt', ...sshArgs(user, { key })]);
    try {
      const at = await next.waitFor(/> $/);
      next.type('\x1b[AZ'); // Up, then a marker: what Up brought back stands before it
      const end = await next.waitFor(/Z$/, at);
      assert.match(next.text.slice(0, end), expected, user);
      next.type(KEY.ctrlC + KEY.ctrlD);
      assert.equal(await next.exited(), 0);
    } finally {
      next.kill();
    }
  }
});

test('sessions beyond the limit are refused with a message', async () => {
  await shellOk(home, 'sshconfig setup --max-sessions 1', 'commit "one session"');
  const held = spawn('ssh', [...sshArgs('admin'), '-T'], { env: process.env });
  let heldOut = '';
  held.stdout.on('data', (d: Buffer) => (heldOut += d.toString()));
  try {
    held.stdin.write('version\n');
    await until(home, 'the first session to answer', () => /mxgate version/.test(heldOut));
    const second = await ssh('admin', ['version']);
    assert.equal(second.code, 1);
    assert.match(second.stderr, /1 SSH sessions are open, the most allowed; try again later/);
  } finally {
    held.stdin.end();
    await new Promise((resolve) => held.on('close', resolve));
  }
  await shellOk(home, 'sshconfig setup --max-sessions 10', 'commit "ten sessions"');
});

test('a session where nothing is typed is closed after the idle time, and says so', async () => {
  const held = spawn('ssh', [...sshArgs('admin'), '-T'], { env: process.env });
  let out = '';
  let err = '';
  held.stdout.on('data', (d: Buffer) => (out += d.toString()));
  held.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const closed = new Promise<number | null>((resolve) => held.on('close', resolve));
  held.stdin.write('version\n');
  await until(home, 'the session to answer', () => /mxgate version/.test(out));
  // stdin stays open: only the idle timer can end the session (bounded, so a regression fails, not hangs).
  const limit = setTimeout(() => held.kill(), (IDLE_SECONDS + 20) * 1000);
  await closed;
  clearTimeout(limit);
  assert.match(err, new RegExp(`mxgate: nothing was typed for ${IDLE_SECONDS} s; the session is closed`));
  assert.match(await audit(), new RegExp(`SSH session of admin from 127\\.0\\.0\\.1 closed after ${IDLE_SECONDS} s without input`));
});

test('a commit over SSH that moves its own port is refused from a script unless it undoes itself; committed confirmed, it is confirmed from the new port; the host key stays across restarts', async () => {
  const before = await scannedFingerprints(port);
  const newPort = await freePort();
  const refused = await ssh('admin', [], `interfaceconfig edit Management --ssh ${newPort}\ncommit "move ssh"\n`);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, new RegExp(`Commit refused: This commit may lock you out: it moves SSH on interface Management from port ${port} to ${newPort}, which this session uses\\.`));
  assert.match(refused.stderr, /Use "commit confirmed MINUTES" to have it undone unless you confirm it, or "commit --force"/);
  assert.equal((await ssh('admin', ['version'])).code, 0, 'nothing was committed: the port is the same');
  // The key this session logged in with is a way back too.
  const fingerprint = (await run('ssh-keygen', ['-l', '-f', path.join(keyDir, 'admin.pub')])).stdout.split(' ')[1]!;
  const keyGone = await ssh('admin', [], 'sshconfig userkey delete admin 1\ncommit "drop my key"\n');
  assert.equal(keyGone.code, 1);
  assert.ok(keyGone.stderr.includes(`Commit refused: This commit may lock you out: it deletes the SSH key ${fingerprint} this session logged in with.`), keyGone.stderr);
  assert.equal((await ssh('admin', ['version'])).code, 0, 'the key still logs in');
  assert.match(await shellOk(home, 'interfaceconfig edit Management --ssh none', 'commit "the local shell is never cut off"', `interfaceconfig edit Management --ssh ${port}`, 'commit "ssh back"'), /Changes committed/);

  const moved = await ssh('admin', [], `interfaceconfig edit Management --ssh ${newPort}\ncommit confirmed 10 "move ssh"\n`);
  assert.equal(moved.code, 0, moved.stderr);
  assert.match(moved.stdout, /goes back to version \d+ at .* unless "commit confirm" comes first/);
  const old = await ssh('admin', ['version']);
  assert.equal(old.code, 255, 'the old port is closed');
  port = newPort;
  const confirmed = await ssh('admin', ['commit', 'confirm']);
  assert.equal(confirmed.code, 0, confirmed.stderr);
  assert.match(confirmed.stdout, /is confirmed: it stays in service/);
  assert.deepEqual(await scannedFingerprints(port), before, 'same host key on the new port');
  await stopEngine(home);
  assert.equal((await mxgate(home, ['engine', 'start'])).code, 0);
  await until(home, 'the SSH port after restart', async () => (await ssh('admin', ['version'])).code === 0);
  assert.deepEqual(await scannedFingerprints(port), before, 'same host key after a restart');
});
