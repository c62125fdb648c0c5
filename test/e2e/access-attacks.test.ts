import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import ssh2 from 'ssh2';
import { BIN, cleanup, freePort, runProgram, shellOk, TEST_ENV, tempHome, until } from '../helpers.js';
import { GuiClient } from '../gui-client.js';

/**
 * What an attacker tries against the administrators' ways in, through the real HTTPS interface
 * (form posts with real cookies and tokens), SSH (OpenSSH and ssh2 clients, in parallel) and the
 * shell: no escalation of a role, no more password checks than the limit however many arrive at
 * once, nobody locked out by a stranger, sessions that end when the account changes, and no
 * resource a stranger can hold before logging in without bound.
 */
const run = promisify(execFile);
const PASSWORD = 'correct horse battery';
const GRACE_SECONDS = 3;
const IDLE_SECONDS = 4;
let home: string;
let keyDir: string;
let gui: number;
let sshPort: number;
const conf = (f: string) => path.join(home, 'configuration', f);
const guiLog = () => readFile(path.join(home, 'logs', 'gui_logs', 'gui.current'), 'utf8');
const cliLog = () => readFile(path.join(home, 'logs', 'cli_logs', 'cli.current'), 'utf8').catch(() => '');

/** OpenSSH with the admin's key from `from`; its exit status and output. */
function sshAdmin(command: string, from = '127.0.0.1') {
  return runProgram('ssh', [
    '-p', String(sshPort), '-b', from,
    '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'IdentityAgent=none',
    '-i', path.join(keyDir, 'admin'), '-o', 'IdentitiesOnly=yes', '-o', 'PasswordAuthentication=no', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10',
    'admin@127.0.0.1', command,
  ]);
}

/** An ssh2 client login with a password from `from`: 'ready' or the error's message. */
function sshPassword(user: string, password: string, from: string): Promise<{ client: ssh2.Client; outcome: string }> {
  return new Promise((resolve) => {
    const client = new ssh2.Client();
    client.on('ready', () => resolve({ client, outcome: 'ready' }));
    client.on('error', (err) => resolve({ client, outcome: err.message }));
    client.on('close', () => resolve({ client, outcome: 'closed' }));
    client.connect({ host: '127.0.0.1', port: sshPort, localAddress: from, username: user, password, tryKeyboard: false, readyTimeout: 20_000, hostVerifier: () => true });
  });
}

/** Silent TCP connections from one address: they connect and then send nothing. Each promise says when it was closed. */
async function silent(from: string, count: number, to = sshPort): Promise<Promise<void>[]> {
  const closed: Promise<void>[] = [];
  await Promise.all(
    Array.from({ length: count }, () => new Promise<void>((connected) => {
      const s = net.connect({ host: '127.0.0.1', port: to, localAddress: from }, () => connected());
      s.on('error', () => connected());
      s.resume(); // read (and drop) the server's version line, so its close is seen
      closed.push(new Promise((resolve) => s.once('close', () => resolve())));
    })),
  );
  return closed;
}

before(async () => {
  home = await tempHome();
  keyDir = await tempHome();
  [gui, sshPort] = [await freePort(), await freePort()];
  const started = await new Promise<number | null>((resolve) =>
    spawn(process.execPath, [BIN, '--home', home, 'engine', 'start'], {
      env: { ...TEST_ENV, MXGATE_SSH_LOGIN_GRACE_SECONDS: String(GRACE_SECONDS), MXGATE_HTTPS_FIRST_ANSWER_SECONDS: String(GRACE_SECONDS), MXGATE_SSH_IDLE_SECONDS: String(IDLE_SECONDS) },
      stdio: 'ignore',
    }).on('close', resolve),
  );
  assert.equal(started, 0);
  await mkdir(path.join(home, 'configuration'), { recursive: true, mode: 0o700 });
  await writeFile(conf('pw'), `${PASSWORD}\n`);
  await writeFile(conf('new.pw'), 'a different passphrase\n');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'admin@test', '-f', path.join(keyDir, 'admin')]);
  const adminKey = (await readFile(path.join(keyDir, 'admin.pub'), 'utf8')).trim();
  await shellOk(
    home,
    'userconfig new admin --role administrator --password-file pw',
    'userconfig new carol --role operator --password-file pw',
    'userconfig new demoted --role administrator --password-file pw',
    `sshconfig userkey new admin --key "${adminKey}"`,
    `interfaceconfig edit Management --https ${gui} --ssh ${sshPort}`,
    'commit "accounts, HTTPS and SSH"',
  );
  await shellOk(home, 'userconfig edit demoted --role operator', 'commit "demoted"');
});
after(async () => {
  await cleanup(home);
  await cleanup(keyDir);
});

test('an operator cannot make itself administrator by rolling back in the GUI: the engine checks what a commit changes', async () => {
  const history = await shellOk(home, 'rollbackconfig list');
  const adminVersion = Number(/^\s*(\d+) .*accounts, HTTPS and SSH/m.exec(history)![1]);
  const op = new GuiClient(gui, '127.0.0.60');
  assert.equal((await op.login('demoted', PASSWORD)).status, 303);
  await op.get('/commits');
  await op.post('/commits/rollback', { version: String(adminVersion) });
  assert.match(await op.flash('/commits'), new RegExp(`Version ${adminVersion} is loaded as pending changes`));
  await op.post('/commit', { comment: 'promote myself' });
  assert.match(await op.flash('/'), /Commit refused: Your account demoted \(operator\) may not commit changes to accounts and their SSH keys; that needs the administrator role/);
  assert.match(await shellOk(home, 'userconfig'), /^demoted +operator +0$/m, 'still an operator');
  // The same check over SSH, and the recorded committer is the account, whatever the request says.
  const viaSsh = await sshAdmin('status');
  assert.equal(viaSsh.code, 0, viaSsh.stderr);
  assert.doesNotMatch(viaSsh.stdout, /Data directory/, 'an SSH account does not see where the appliance keeps its files');
});

test('30 parallel wrong passwords and the right one among them: no more than the limit are checked (GUI)', async () => {
  const clients = Array.from({ length: 40 }, () => new GuiClient(gui, '127.0.0.61'));
  // One after the other: each kept-alive connection has had its first answer (no longer a stranger's
  // waiting connection, of which one address may have only 16); then all 40 posts go at once.
  for (const c of clients) await c.get('/login');
  const answers = await Promise.all(clients.map((c, i) => c.post('/login', { username: 'carol', password: i === 34 ? PASSWORD : `guess ${i}` })));
  const checked = answers.filter((a) => a.status === 401 || a.status === 303).length;
  assert.equal(checked, 5, `checked ${checked} passwords: ${answers.map((a) => a.status).join(' ')}`);
  assert.equal(answers.filter((a) => a.status === 429).length, 35);
  assert.notEqual(answers[34]!.status, 303, 'the right password past the limit does not log in');
});

test('parallel wrong passwords over SSH: no more than the limit are checked', async () => {
  const before = (await cliLog()).split('\n').length;
  const tries = await Promise.all(Array.from({ length: 30 }, (_, i) => sshPassword('carol', `guess ${i}`, '127.0.0.62')));
  for (const t of tries) t.client.end();
  assert.ok(tries.every((t) => t.outcome !== 'ready'));
  const lines = (await cliLog()).split('\n').slice(before - 1);
  const checked = lines.filter((l) => /SSH login failed for carol from 127\.0\.0\.62: wrong account name or password/.test(l)).length;
  assert.ok(checked >= 1 && checked <= 5, `${checked} passwords were checked`);
});

test('failures from five addresses lock nobody out; a locked address does not stop a key; userconfig unlock and the GUI lift a lock', async () => {
  for (let i = 0; i < 5; i += 1) assert.equal((await new GuiClient(gui, `127.0.0.${70 + i}`).login('admin', 'not the password')).status, 401);
  assert.equal((await new GuiClient(gui, '127.0.0.80').login('admin', PASSWORD)).status, 303, 'the right password from another address');
  const tries = [];
  for (let i = 0; i < 5; i += 1) tries.push(await sshPassword('admin', 'not the password either', '127.0.0.81'));
  for (const t of tries) t.client.end();
  assert.match(await shellOk(home, 'status'), /Locked out: +admin from 127\.0\.0\.81/);
  const key = await sshAdmin('version', '127.0.0.81');
  assert.equal(key.code, 0, `a key login from the locked address: ${key.stderr}`);
  const admin = new GuiClient(gui);
  await admin.login('admin', PASSWORD);
  const users = await admin.get('/users');
  assert.match(users.body, /locked out from 127\.0\.0\.81/);
  await admin.post('/users/unlock', { name: 'admin' });
  assert.match(await admin.flash('/users'), /Account admin unlocked: it was locked out from 1 address\(es\)/);
  assert.doesNotMatch(await shellOk(home, 'status'), /Locked out: +admin/);
  assert.equal((await sshPassword('admin', PASSWORD, '127.0.0.81')).outcome, 'ready', 'the password works again from that address');
});

test('a login post with neither the login cookie nor its token is refused before any password is checked', async () => {
  const before = await guiLog();
  const bare = new GuiClient(gui, '127.0.0.63');
  const answer = await bare.request('POST', '/login', new URLSearchParams({ username: 'carol', password: PASSWORD, _csrf: '' }).toString());
  assert.equal(answer.status, 403);
  assert.match(answer.body, /The login form had expired/);
  assert.equal(bare.cookies.has('mxgate_session'), false);
  assert.equal((await guiLog()).slice(before.length).includes('GUI login: carol'), false);
});

test('multipart bodies: refused on the login form and on forms without uploads, and past the size limit', async () => {
  const anon = new GuiClient(gui, '127.0.0.64');
  await anon.get('/login');
  const onLogin = await anon.postFiles('/login', { username: 'carol', password: PASSWORD }, { file: { name: 'x', data: Buffer.alloc(1000, 1) } });
  assert.equal(onLogin.status, 415);
  assert.equal((await anon.postFiles('/certificates/import', {}, { file: { name: 'x.p12', data: Buffer.alloc(1000, 1) } })).status, 401, 'an upload route needs a login first');
  const admin = new GuiClient(gui);
  await admin.login('admin', PASSWORD);
  await admin.get('/destinations');
  assert.equal((await admin.postFiles('/destinations/new', { domain: 'x.example', tls: 'required' }, { file: { name: 'x', data: Buffer.alloc(10, 1) } })).status, 415);
  await admin.get('/certificates');
  const big = await admin.postFiles('/certificates/import', {}, { file: { name: 'x.p12', data: Buffer.alloc(3 * 1024 * 1024, 1) } });
  assert.equal(big.status, 413);
});

test("a password change ends the account's other GUI and SSH sessions; the session that changed its own goes on", async () => {
  const browser = new GuiClient(gui, '127.0.0.65');
  assert.equal((await browser.login('carol', PASSWORD)).status, 303);
  const own = new GuiClient(gui, '127.0.0.66');
  assert.equal((await own.login('carol', PASSWORD)).status, 303);
  const shell = await sshPassword('carol', PASSWORD, '127.0.0.67');
  assert.equal(shell.outcome, 'ready');
  const closed = new Promise<void>((resolve) => shell.client.on('close', () => resolve()));
  await own.get('/users');
  await own.post('/users/own-password', { current: PASSWORD, password: 'a fresh passphrase 2', confirm: 'a fresh passphrase 2' });
  assert.match(await own.flash('/users'), /Your password changed/);
  assert.equal((await own.get('/')).status, 200, 'the session that changed it goes on');
  assert.equal((await browser.get('/')).status, 303, 'the other GUI session has ended');
  await closed; // the SSH connection is closed by the engine
  await shellOk(home, 'passwd carol --password-file pw', 'commit "carol back"');
  assert.equal((await own.get('/')).status, 303, 'a change by someone else ends every session');
});

test('silent connections cannot keep an administrator out of SSH: per-address cap, deadline from TCP accept, the oldest make room', async () => {
  const flood = await silent('127.0.0.90', 128);
  const sameAddress = await sshAdmin('version');
  assert.equal(sameAddress.code, 0, `a key login during a flood from one address: ${sameAddress.stderr}`);
  const spread = (await Promise.all(Array.from({ length: 20 }, (_, i) => silent(`127.0.1.${i + 1}`, 8)))).flat();
  const many = await sshAdmin('version');
  assert.equal(many.code, 0, `a key login during a flood from 20 addresses: ${many.stderr}`);
  // Every silent connection is closed by the deadline (or was refused or made room at once).
  await Promise.all([...flood, ...spread]);
  assert.match(await cliLog(), new RegExp(`SSH connection from 127\\.0\\.0\\.90 refused: 8 connections from this address are already waiting to log in`));
  assert.match(await cliLog(), new RegExp(`no login within ${GRACE_SECONDS} s of connecting`));
});

test('silent connections cannot keep an administrator out of the GUI either', async () => {
  const flood = await silent('127.0.0.91', 100, gui);
  const spread = (await Promise.all(Array.from({ length: 20 }, (_, i) => silent(`127.0.2.${i + 1}`, 16, gui)))).flat();
  const admin = new GuiClient(gui);
  assert.equal((await admin.login('admin', PASSWORD)).status, 303, 'the administrator logs in during the flood');
  assert.equal((await admin.get('/')).status, 200);
  await Promise.all([...flood, ...spread]);
  assert.match(await guiLog(), /HTTPS connection from 127\.0\.0\.91 refused: 16 connections from this address are already waiting for their first answer/);
  assert.match(await guiLog(), new RegExp(`no complete request within ${GRACE_SECONDS} s of connecting`));
});

test('a logged-in SSH connection that opens no session is closed after the idle time', async () => {
  const idle = await sshPassword('carol', PASSWORD, '127.0.0.68');
  assert.equal(idle.outcome, 'ready');
  await new Promise<void>((resolve) => idle.client.on('close', () => resolve()));
  await until(home, 'the audit line', async () => /SSH connection of carol from 127\.0\.0\.68 closed: no session for 4 s/.test(await cliLog()));
});
