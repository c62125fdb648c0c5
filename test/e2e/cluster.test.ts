import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import nodemailer from 'nodemailer';
import { cleanup, freePort, LiveShell, mxgate, runProgram, shellOk, tempHome, until } from '../helpers.js';
import { GuiClient } from '../gui-client.js';
import { testDnsServer } from '../dns-server.js';
import { opensslChain } from '../pki-fixtures.js';
import { smtpSink } from '../sink.js';
import { KEY, Terminal } from '../terminal.js';
import { enforcePolicy, stsPolicyHost } from '../sts-host.js';

/**
 * Three appliances as one cluster (clusterconfig), each with its own data directory, listener and
 * etcd member on its own loopback address (127.0.0.41-43; etcd peer 2380, client 2379): real etcd
 * (Debian etcd-server), real engines, real SMTP and TLS.
 */
const IPS = ['127.0.0.41', '127.0.0.42', '127.0.0.43'];
const NAMES = ['mx1.cluster.test', 'mx2.cluster.test', 'mx3.cluster.test'];
const SMTP_PORT = 2525;
/** The MTA-STS policy host (HTTPS on 443) of this file: an address no other test file uses. */
const STS_ADDRESS = '127.0.0.44';
const homes: string[] = [];
let expiring: { token: string; issued: number };

const shell = (i: number, ...lines: string[]) => shellOk(homes[i]!, ...lines);
const token = async (i: number) => (await shell(i, 'clusterconfig token --ttl 10')).trim().split('\n').at(-1)!;

/** The reply to MAIL FROM before STARTTLS: 530 where TLS is required. */
async function mailFromReply(ip: string): Promise<string> {
  const s = net.connect(SMTP_PORT, ip);
  let buf = '';
  s.on('data', (d: Buffer) => (buf += d.toString()));
  const next = async (pattern: RegExp) => {
    for (let i = 0; i < 200 && !pattern.test(buf); i++) await new Promise((r) => setTimeout(r, 20));
    const m = pattern.exec(buf);
    buf = '';
    return m?.[0] ?? '';
  };
  try {
    await next(/^220 .*\r\n/m);
    s.write('EHLO probe.test\r\n');
    await next(/^250 .*\r\n/m);
    s.write('MAIL FROM:<a@example.org>\r\n');
    return (await next(/^\d{3}[ -].*\r\n/m)).slice(0, 3);
  } finally {
    s.destroy();
  }
}

/** The subject CN of the certificate a listener presents after STARTTLS (openssl s_client). */
async function presentedCn(ip: string): Promise<string> {
  const child = spawn('openssl', ['s_client', '-starttls', 'smtp', '-connect', `${ip}:${SMTP_PORT}`, '-brief'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  // The CN only once its line is complete: output arrives in pieces, and a name cut short is not the name.
  const peer = /Peer certificate: .*CN ?= ?([^\s,]+)(?=[,\r\n])/;
  for (let i = 0; i < 250 && !peer.test(out); i++) await new Promise((r) => setTimeout(r, 20));
  child.kill();
  return peer.exec(out)?.[1] ?? `no certificate seen:\n${out}`;
}

/** Every mail log file of a member, rotated ones included. */
const mailLogs = async (i: number) => {
  const dir = path.join(homes[i]!, 'logs', 'mail_logs');
  return (await Promise.all((await readdir(dir)).map((f) => readFile(path.join(dir, f), 'utf8')))).join('\n');
};

/** etcdctl against mx1's etcd member as the members' account; its output. */
async function etcdctl(...args: string[]): Promise<string> {
  const secrets = JSON.parse(await readFile(path.join(homes[0]!, 'cluster', 'secrets.json'), 'utf8')) as { rootPassword: string };
  const got = await runProgram('etcdctl', ['--endpoints', `https://${IPS[0]}:2379`, '--cacert', path.join(homes[0]!, 'cluster', 'tls', 'ca.pem'), '--user', `root:${secrets.rootPassword}`, ...args], '', { ...process.env, ETCDCTL_API: '3' });
  assert.equal(got.code, 0, got.stderr);
  return got.stdout;
}

/** The keys under a prefix in the cluster's etcd. */
const etcdKeys = async (prefix: string) => (await etcdctl('get', '--prefix', '--keys-only', prefix)).split('\n').filter(Boolean);

/** Submit one message to a member's listener (TLS is required there) with STARTTLS. */
async function submitOverTls(ip: string, to: string, subject: string): Promise<void> {
  const t = nodemailer.createTransport({ host: ip, port: SMTP_PORT, requireTLS: true, tls: { rejectUnauthorized: false } });
  try {
    await t.sendMail({ from: 'sender@example.org', to, subject, text: 'hello\n' });
  } finally {
    t.close();
  }
}

const clusterVersion = async (i: number) => Number(/cluster version (\d+)/.exec(await shell(i, 'status'))?.[1] ?? 0);
const appliedEverywhere = (version: number, members = [0, 1, 2]) =>
  until(homes[0]!, `cluster version ${version} on every member`, async () => {
    const out = await shell(0, 'clusterconfig list');
    return members.every((i) => new RegExp(`${NAMES[i]!.replace(/\./g, '\\.')}\\s+\\S+\\s+${version}\\s`).test(out));
  }, 30_000);

before(async () => {
  for (const [i, ip] of IPS.entries()) {
    const home = await tempHome();
    homes.push(home);
    // npm run test:workers: listener workers are each machine's own setting, kept through the cluster.
    const workers = process.env.MXGATE_TEST_WORKERS ? [`listenerconfig setup --workers ${process.env.MXGATE_TEST_WORKERS}`] : [];
    await shell(i, `sethostname ${NAMES[i]}`, `interfaceconfig new Public --ip ${ip}`, ...workers, 'commit');
  }
  await shell(
    0,
    `listenerconfig new InboundMail --type public --interface Public --port ${SMTP_PORT}`,
    'listenerconfig edit InboundMail rcptaccess add example.net',
    `certconfig new mx --cn ${NAMES[0]} --country JP --key ecdsa-p256`,
    'listenerconfig edit InboundMail certificate mx',
    'commit "mx1 before the cluster"',
  );
});

after(async () => {
  for (const h of homes) await cleanup(h);
});

test('create, token, join: the cluster runs mx1\'s configuration everywhere; a token works once', async () => {
  const created = await shell(0, 'clusterconfig create Gateways --address 127.0.0.41');
  assert.match(created, /Cluster Gateways created with mx1\.cluster\.test/);
  const t = await token(0);
  assert.match(await shell(1, `clusterconfig join ${IPS[0]}:2380 --token ${t} --address ${IPS[1]}`), /mx2\.cluster\.test joined cluster Gateways/);
  const reused = await mxgate(homes[2]!, ['-c', `clusterconfig join ${IPS[0]}:2380 --token ${t} --address ${IPS[2]}`]);
  assert.notEqual(reused.code, 0);
  assert.match(reused.stderr, /The join token has expired or was already used/);
  const forged = await mxgate(homes[2]!, ['-c', `clusterconfig join ${IPS[0]}:2380 --token ${t.replace(/\.[^.]+\./, '.forgedsecretforgedsecretforgedsecret.')} --address ${IPS[2]}`]);
  assert.match(forged.stderr, /The join token has expired or was already used/);
  assert.match(await shell(2, `clusterconfig join ${IPS[1]}:2380 --token ${await token(1)} --address ${IPS[2]}`), /mx3\.cluster\.test joined/);
  // A one-minute token, tried once it has expired (in the last test, long after this one).
  expiring = { token: (await shell(0, 'clusterconfig token --ttl 1')).trim().split('\n').at(-1)!, issued: Date.now() };
  await appliedEverywhere(await clusterVersion(0));
  for (const ip of IPS) assert.equal(await mailFromReply(ip), '250', `${ip} runs the cluster's listener`);
  const status = await shell(2, 'status');
  assert.match(status, /Cluster:\s+Gateways, this machine mx3\.cluster\.test, cluster version \d+ applied/);
  // Machine-level settings stayed each machine's own.
  assert.match(await shell(2, 'showconfig'), /\n  interface \S+: 127\.0\.0\.43/);
});

test('status and the GUI dashboard show every member: group, applied version, queue, health', async () => {
  const version = await clusterVersion(0);
  const status = await shell(0, 'status');
  for (const n of NAMES) assert.match(status, new RegExp(`Cluster members:[\\s\\S]*\\n {2}${n.replace(/\./g, '\\.')}\\s+Main_Group\\s+\\d+\\s+\\d+\\s+ok`));
  await writeFile(path.join(homes[1]!, 'configuration', 'admin.pw'), 'correct horse battery staple\n');
  const https = await freePort();
  await shell(1, 'userconfig new admin --role administrator --password-file admin.pw', 'commit "an administrator for every member"');
  await shell(1, `clustermode machine ${NAMES[1]}`, `interfaceconfig edit Public --https ${https}`, 'commit "mx2 HTTPS"');
  const gui = new GuiClient(https, '127.0.0.1', IPS[1]!);
  assert.equal((await gui.login('admin', 'correct horse battery staple')).status, 303);
  const page = await gui.request('GET', '/');
  assert.equal(page.status, 200);
  assert.match(page.body, /<h2>Cluster Gateways<\/h2>/);
  for (const n of NAMES) assert.match(page.body, new RegExp(`<td>${n.replace(/\./g, '\\.')}</td><td>Main_Group</td><td>\\d+</td><td>\\d+</td><td class="good">ok</td>`));
  // The GUI's level selector (the shell's clustermode): a destination committed at mx3's machine level reaches mx3 only.
  assert.match(page.body, /<option value="cluster" selected>Cluster Gateways<\/option>/);
  await gui.post('/level', { level: 'machine:nope.cluster.test', back: '/' });
  assert.match(await gui.flash('/'), /There is no machine nope\.cluster\.test in cluster Gateways/);
  await gui.post('/level', { level: `machine:${NAMES[2]}`, back: '/' });
  assert.match(await gui.flash('/'), /Changes now go to: Machine mx3\.cluster\.test\./);
  assert.match(gui.last, /<option value="machine:mx3\.cluster\.test" selected>Machine mx3\.cluster\.test<\/option>/);
  await gui.post('/destinations/new', { domain: 'gui-mx3.test', tls: 'required' });
  await gui.get('/destinations');
  await gui.post('/commit', { comment: 'from the GUI, for mx3', back: '/' });
  assert.match(await gui.flash('/'), /Your changes have been committed as version \d+\./);
  await appliedEverywhere(await clusterVersion(0));
  assert.match(await shell(2, `clustermode machine ${NAMES[2]}`, 'destconfig list'), /gui-mx3\.test/);
  assert.doesNotMatch(await shell(0, 'destconfig list'), /gui-mx3\.test/);
  // mx3 inherits the cluster's destinations again.
  await shell(0, `clusterset delete delivery --from machine:${NAMES[2]}`);
  await appliedEverywhere(await clusterVersion(0));
  assert.doesNotMatch(await shell(2, `clustermode machine ${NAMES[2]}`, 'destconfig list'), /gui-mx3\.test/);
  assert.ok((await clusterVersion(0)) > version);
  // Check and the lock-out guard in a cluster: HTTPS off on the interface this browser uses on mx2.
  await gui.post('/level', { level: `machine:${NAMES[1]}`, back: '/interfaces' });
  await gui.get('/interfaces');
  await gui.post('/interfaces/https', { interface: 'Public', https: '' });
  await gui.get('/interfaces');
  await gui.post('/commit', { back: '/interfaces', action: 'check' });
  const checked = await gui.flash('/interfaces');
  assert.match(checked, /^The pending changes can be committed: nothing was applied or recorded\. .*Note: The other members try their own ports when they apply the version\./);
  assert.match(checked, /Note: This commit may lock you out: it turns HTTPS off on interface Public, which this session uses \(HTTPS on 127\.0\.0\.42 port \d+\)/);
  await gui.post('/commit', { comment: 'https off', back: '/interfaces' });
  assert.match(await gui.flash('/interfaces'), /Commit refused: This commit may lock you out: it turns HTTPS off on interface Public/);
  await gui.post('/abandon', { back: '/interfaces' });
  assert.equal((await gui.get('/interfaces')).status, 200, 'HTTPS on mx2 still answers');
});

test('a cluster-level commit on one member is live on all three', async () => {
  const out = await shell(1, 'listenerconfig edit InboundMail hostaccess default --tls required', 'commit "TLS required"');
  assert.match(out, /Changes committed/);
  for (const ip of IPS) await until(homes[0]!, `530 on ${ip}`, async () => (await mailFromReply(ip)) === '530');
  // Each member records the cluster version in its own history too.
  const log = await readFile(path.join(homes[2]!, 'logs', 'mail_logs', 'mail.current'), 'utf8');
  assert.match(log, /Cluster Gateways version \d+: TLS required/);
});

test('a machine-level certificate under the cluster\'s name is what that member presents; the others keep theirs', async () => {
  const out = await shell(1, 'clustermode machine mx2.cluster.test', `certconfig new mx --cn ${NAMES[1]} --country JP --key ecdsa-p256 --overwrite`, 'commit "mx2\'s own certificate"');
  assert.match(out, /Changes now go to: Machine mx2\.cluster\.test/);
  await until(homes[0]!, 'mx2 presents its own certificate', async () => (await presentedCn(IPS[1]!)) === NAMES[1]);
  assert.equal(await presentedCn(IPS[0]!), NAMES[0]);
  assert.equal(await presentedCn(IPS[2]!), NAMES[0], 'mx3 presents the cluster-level mx');
  // showconfig says where each value is set; a cluster-level change to what mx2 overrides says it does not reach mx2.
  const where = await shell(0, 'showconfig');
  assert.match(where, /Settings at Cluster Gateways, and where each is set/);
  assert.match(where, /\n {2}certificate profile mx\s+Cluster; Machine mx2\.cluster\.test sets its own\n/);
  assert.match(where, /\n {2}hostname\s+each machine's own\n/);
  const atMx2 = await shell(1, 'clustermode machine mx2.cluster.test', 'showconfig');
  assert.match(atMx2, /\n {2}certificate profile mx\s+Machine mx2\.cluster\.test\n/);
  assert.match(atMx2, /\n {2}listeners\s+Cluster\n/);
  const renewed = await shell(0, `certconfig new mx --cn ${NAMES[0]} --country JP --key ecdsa-p256 --overwrite`, 'commit "cluster mx renewed"');
  assert.match(renewed, /Note: certificate profile mx: Machine mx2\.cluster\.test sets its own; this change does not reach it\./);
  await until(homes[0]!, 'mx3 presents the renewed cluster mx', async () => (await presentedCn(IPS[2]!)) === NAMES[0]);
  assert.equal(await presentedCn(IPS[1]!), NAMES[1], 'mx2 keeps its own');
  // A command for machine-level settings run at cluster level: a script is told the clustermode, nothing changes.
  const wrong = await mxgate(homes[0]!, ['-c', 'sethostname other.cluster.test', '-c', 'commit']);
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /sethostname changes settings kept at machine level, and this session edits Cluster Gateways\. Switch with "clustermode machine mx1\.cluster\.test" first\./);
  // ... and the administrator at a terminal is offered the switch, as the appliance does.
  const term = new Terminal(homes[0]!);
  try {
    let at = await term.waitFor(/\(Cluster Gateways\)> $/);
    term.line('interfaceconfig');
    at = await term.waitFor(/interfaceconfig changes settings kept at machine level, and this session edits Cluster Gateways\. Switch modes to edit at "Machine mx1\.cluster\.test"\? \[Y\]> $/, at);
    term.line('');
    at = await term.waitFor(/Changes now go to: Machine mx1\.cluster\.test\./, at);
    term.type(KEY.ctrlC);
    at = await term.waitFor(/\(Machine mx1\.cluster\.test\)> $/, at);
    term.line('quit');
    assert.equal(await term.exited(), 0);
  } finally {
    term.kill();
  }
  // Accounts are the cluster's: at machine level, userconfig points to cluster level.
  const users = await mxgate(homes[1]!, ['-c', 'clustermode machine mx2.cluster.test', '-c', 'userconfig']);
  assert.match(users.stderr, /userconfig changes settings kept at cluster level, and this session edits Machine mx2\.cluster\.test\. Switch with "clustermode cluster" first\./);
});

test('groups and clusterset: a group\'s setting reaches only its machines; clusterset moves a setting to the cluster and lets a machine inherit again', async () => {
  assert.match(await shell(0, 'clusterconfig addgroup Tokyo'), /Committed as cluster version \d+: group Tokyo added\./);
  assert.match(await shell(0, `clusterconfig setgroup ${NAMES[2]} Tokyo`), /mx3\.cluster\.test moved to group Tokyo/);
  assert.match(await shell(0, 'clusterconfig list'), /mx3\.cluster\.test\s+Tokyo\s/);
  const pending = await shell(0, 'clustermode group Tokyo', 'destconfig new tokyo.test --tls required', 'showchanges', 'commit check', 'commit "Tokyo only"');
  assert.match(pending, /Note: The other members try their own ports when they apply the version\.\nThe pending changes can be committed: nothing was applied or recorded\./);
  assert.match(pending, /1 pending change at Group Tokyo \(commit sets them at this level\), against cluster version \d+, in the order commit puts them in service:\ndestconfig:\n  destination tokyo\.test added: TLS Required\n/);
  await appliedEverywhere(await clusterVersion(0));
  // What each machine runs (its machine-level view): mx3 in Tokyo has it, mx2 does not.
  assert.match(await shell(2, `clustermode machine ${NAMES[2]}`, 'destconfig list'), /tokyo\.test/);
  assert.doesNotMatch(await shell(1, `clustermode machine ${NAMES[1]}`, 'destconfig list'), /tokyo\.test/);

  assert.match(await shell(0, 'clusterset move delivery --from group:Tokyo --to cluster'), /Committed as cluster version \d+: clusterset move delivery Group Tokyo -> Cluster\./);
  await appliedEverywhere(await clusterVersion(0));
  assert.match(await shell(1, `clustermode machine ${NAMES[1]}`, 'destconfig list'), /tokyo\.test/);
  // mx2's own certificate profile goes: it inherits the cluster's "mx" again and presents it.
  await shell(0, `clusterset delete certificate:mx --from machine:${NAMES[1]}`);
  await until(homes[0]!, 'mx2 presents the cluster mx', async () => (await presentedCn(IPS[1]!)) === NAMES[0]);

  const refused = await mxgate(homes[0]!, ['-c', `clusterset copy hostname --from machine:${NAMES[0]} --to cluster`]);
  assert.match(refused.stderr, /The host name exists only at machine level\./);
  const busy = await mxgate(homes[0]!, ['-c', 'clusterconfig removegroup Tokyo']);
  assert.match(busy.stderr, /Group Tokyo still holds mx3\.cluster\.test: move it first/);
  await shell(0, `clusterconfig setgroup ${NAMES[2]} Main_Group`, 'clusterconfig removegroup Tokyo');
  assert.doesNotMatch(await shell(0, 'clusterconfig list'), /Tokyo/);
});

test('private keys reach etcd only sealed with the cluster key', async () => {
  const secrets = JSON.parse(await readFile(path.join(homes[0]!, 'cluster', 'secrets.json'), 'utf8')) as { rootPassword: string };
  const got = await runProgram('etcdctl', ['--endpoints', `https://${IPS[0]}:2379`, '--cacert', path.join(homes[0]!, 'cluster', 'tls', 'ca.pem'), '--user', `root:${secrets.rootPassword}`, 'get', '--prefix', '/mxgate/'], '', { ...process.env, ETCDCTL_API: '3' });
  assert.equal(got.code, 0, got.stderr);
  assert.match(got.stdout, /\/mxgate\/keys\/[0-9a-f]{64}\nsealed:v1:/);
  assert.doesNotMatch(got.stdout, /PRIVATE KEY/);
  const withoutPassword = await runProgram('etcdctl', ['--endpoints', `https://${IPS[0]}:2379`, '--cacert', path.join(homes[0]!, 'cluster', 'tls', 'ca.pem'), 'get', '/mxgate/config'], '', { ...process.env, ETCDCTL_API: '3' });
  assert.notEqual(withoutPassword.code, 0, 'etcd refuses clients without the members\' account');
});

test('two members committing at once: exactly one wins, the other is told and commits nothing', async () => {
  const a = new LiveShell(homes[1]!);
  const b = new LiveShell(homes[2]!);
  try {
    a.send('destconfig new race-a.test --tls required');
    b.send('destconfig new race-b.test --tls required');
    await a.waitFor(/race-a\.test/);
    await b.waitFor(/race-b\.test/);
    const [fromA, fromB] = [a.output.length, b.output.length];
    a.send('commit race a');
    b.send('commit race b');
    const [ra, rb] = await Promise.all([a.waitFor(/Changes committed|Commit refused[^\n]*/, fromA, 30_000), b.waitFor(/Changes committed|Commit refused[^\n]*/, fromB, 30_000)]);
    assert.deepEqual([ra, rb].map((r) => r.startsWith('Changes committed')).sort(), [false, true], `${ra} / ${rb}`);
    const loser = ra.startsWith('Commit refused') ? ra : rb;
    assert.match(loser, /committed by .* since you started from version \d+|after your changes were started/);
  } finally {
    await a.end();
    await b.end();
  }
  const dest = await shell(0, 'destconfig list');
  assert.equal([/race-a\.test/.test(dest), /race-b\.test/.test(dest)].filter(Boolean).length, 1);
});

test('an etcd member killed with -9 is started again by its appliance, which catches up', async () => {
  const pidFile = path.join(homes[2]!, 'run', 'etcd.pid');
  const killed = Number((await readFile(pidFile, 'utf8')).trim());
  process.kill(killed, 'SIGKILL');
  assert.match(await shell(0, 'destconfig new etcd-killed.test --tls required', 'commit "one etcd killed"'), /Changes committed/);
  await until(homes[2]!, 'a new etcd for mx3', async () => Number((await readFile(pidFile, 'utf8').catch(() => '0')).trim()) !== killed);
  await appliedEverywhere(await clusterVersion(0));
  assert.match(await shell(2, 'destconfig list'), /etcd-killed\.test/);
});

test('losing one member changes nothing; without a quorum commits are refused, mail goes on, and members catch up', async () => {
  const sink = await smtpSink();
  after(() => sink.close());
  await shell(0, `smtproutes new example.net 127.0.0.1:${sink.port}`, 'commit "example.net to the sink"');
  await mxgate(homes[2]!, ['engine', 'stop']);
  assert.match(await shell(0, 'destconfig new one-down.test --tls required', 'commit "one member down"'), /Changes committed/);
  // A stopped member withdraws its report: clustercheck names it at once, and fails (a script sees it).
  const check = await mxgate(homes[0]!, ['-c', 'clustercheck']);
  assert.notEqual(check.code, 0);
  assert.match(check.stdout, /^mx3\.cluster\.test: not reporting/m);
  assert.match(check.stderr, /1 inconsistency found in cluster Gateways/);
  await shell(1, 'destconfig new down-2.test --tls required', 'commit "down 2"');
  await shell(0, 'destconfig new down-3.test --tls required', 'commit "down 3"');
  await mxgate(homes[1]!, ['engine', 'stop']);
  const refused = await mxgate(homes[0]!, ['-c', 'destconfig new no-quorum.test --tls required', '-c', 'commit "no quorum"']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /Commit refused: Nothing was committed or changed: the cluster's etcd does not answer/);
  assert.equal(await mailFromReply(IPS[0]!), '530', 'mx1 still runs its listener with the last applied version');
  // Mail is still accepted and delivered without a quorum.
  await submitOverTls(IPS[0]!, 'user@example.net', 'no quorum, still delivered');
  await until(homes[0]!, 'delivery without a quorum', () => sink.received.find((m) => m.data.includes('Subject: no quorum, still delivered')));
  assert.match(await shell(0, 'status'), /cluster: .*does not answer/i);
  // Both come back: every member runs the newest version, including the one committed while mx3 was away.
  for (const i of [1, 2]) assert.equal((await mxgate(homes[i]!, ['engine', 'start'])).code, 0);
  const newest = await until(homes[0]!, 'the cluster to answer', async () => {
    const v = await clusterVersion(1);
    return v > 0 ? v : undefined;
  });
  await appliedEverywhere(newest);
  assert.match(await shell(2, 'destconfig list'), /down-3\.test/);
  await until(homes[0]!, 'clustercheck to find the cluster consistent again', async () => (await mxgate(homes[0]!, ['-c', 'clustercheck'])).stdout.includes('No inconsistencies found on available machines.'));
  // mx3, away for three commits, applied the newest at once, not each one in between.
  const mx3 = await mailLogs(2);
  assert.match(mx3, /Cluster Gateways version \d+: down 3/);
  assert.doesNotMatch(mx3, /Cluster Gateways version \d+: (one member down|down 2)/);
});

test('clustercheck finds an etcd member no machine has (a join that did not finish); removemachine takes it out', async () => {
  // etcd adds a member only while every member has been up a few seconds (the last test restarted two).
  await until(homes[1]!, 'etcd to add a member', () => etcdctl('member', 'add', 'half-joined', '--peer-urls', 'https://127.0.0.45:2380').catch(() => undefined), 30_000);
  const check = await mxgate(homes[1]!, ['-c', 'clustercheck']);
  assert.notEqual(check.code, 0);
  assert.match(check.stdout, /^127\.0\.0\.45:2380: is an etcd member that was added but never started/m);
  assert.match(check.stdout, /-> "clusterconfig removemachine 127\.0\.0\.45:2380"/);
  assert.match(await shell(1, 'clusterconfig removemachine 127.0.0.45:2380'), /127\.0\.0\.45:2380 was removed from the cluster/);
  assert.doesNotMatch(await etcdctl('member', 'list'), /127\.0\.0\.45/);
  assert.match(await shell(1, 'clustercheck'), /No inconsistencies found on available machines\./);
  const unknown = await mxgate(homes[1]!, ['-c', 'clusterconfig removemachine 127.0.0.46:2380']);
  assert.match(unknown.stderr, /There is no machine 127\.0\.0\.46:2380 in cluster Gateways/);
});

test('a rollback reaches every member', async () => {
  const before = await clusterVersion(0);
  await shell(0, 'destconfig new rolled.test --tls required', 'commit "to be rolled back"');
  await appliedEverywhere(before + 1);
  assert.match(await shell(2, 'destconfig list'), /rolled\.test/);
  assert.match(await shell(0, `rollbackconfig ${before}`), /Changes committed/);
  await appliedEverywhere(before + 2);
  assert.doesNotMatch(await shell(2, 'destconfig list'), /rolled\.test/);
  assert.match(await shell(1, 'rollbackconfig list'), /Rollback to version/);
});

test('commit confirmed in a cluster: every member keeps the deadline; nobody confirming, the others go back without the member that committed; commit confirm from another member keeps it', async () => {
  const before = await clusterVersion(0);
  const out = await shell(0, 'destconfig new confirmed.cluster.test --tls required', 'commit confirmed 1 "for one minute"');
  assert.match(out, new RegExp(`Version ${before + 1} goes back to version ${before} at .* unless "commit confirm" comes first`));
  await appliedEverywhere(before + 1);
  assert.match(await shell(2, 'status', 'destconfig list'), new RegExp(`version ${before + 1} \\(commit confirmed by \\S+\\) goes back to version ${before} at[\\s\\S]*confirmed\\.cluster\\.test`));
  await mxgate(homes[0]!, ['engine', 'stop']);
  await until(homes[1]!, 'the cluster to go back without mx1', async () => (await clusterVersion(1)) === before + 2, 150_000);
  await appliedEverywhere(before + 2, [1, 2]).catch(() => undefined);
  assert.doesNotMatch(await shell(2, 'destconfig list'), /confirmed\.cluster\.test/);
  const history = await shell(1, 'rollbackconfig list', 'status');
  assert.match(history, new RegExp(`system +Rollback to version ${before}: version ${before + 1} \\(commit confirmed by \\S+\\) was not confirmed within 1 minute`));
  assert.doesNotMatch(history, /goes back to version/, 'nothing waits any more');
  const alerts = (await shell(1, 'displayalerts')) + (await shell(2, 'displayalerts'));
  assert.equal(alerts.match(new RegExp(`Commit not confirmed: back to version ${before}`, 'g'))?.length, 1, 'one member went back and said so');
  assert.equal((await mxgate(homes[0]!, ['engine', 'start'])).code, 0);
  await until(homes[0]!, 'mx1 back in the cluster', async () => (await clusterVersion(0)) === before + 2);
  await appliedEverywhere(before + 2);

  await shell(0, 'destconfig new kept.cluster.test --tls required', 'commit confirmed 30 "kept"');
  assert.match(await shell(1, 'commit confirm'), new RegExp(`Version ${before + 3} \\(committed by \\S+\\) is confirmed: it stays in service\\.`));
  await appliedEverywhere(before + 4);
  assert.doesNotMatch(await shell(2, 'status'), /goes back to version/);
  assert.match(await shell(2, 'destconfig list'), /kept\.cluster\.test/);
});

test('one MTA-STS fetch and one TLS report per cluster: three members deliver to one domain; one fetches its policy, the others take it from etcd; one report counts every member\'s sessions', async () => {
  const chain = opensslChain();
  const mx = chain.issueWithKey('mx.sts.test', ['mx.sts.test']);
  const sink = await smtpSink({ tls: { key: mx.key, cert: mx.cert + chain.intermediate } });
  const mailbox = await smtpSink();
  const dns = await testDnsServer({
    '_mta-sts.sts.test': { TXT: ['v=STSv1; id=20261205'] },
    '_smtp._tls.sts.test': { TXT: ['v=TLSRPTv1; rua=mailto:tls-reports@reports.test'] },
    'mta-sts.sts.test': { A: [STS_ADDRESS] },
    'mx.sts.test': { A: ['127.0.0.1'] },
  });
  const stsHost = await stsPolicyHost(chain, STS_ADDRESS);
  stsHost.policies.set('sts.test', { body: enforcePolicy(['mx.sts.test']) });
  try {
    await writeFile(path.join(homes[0]!, 'configuration', 'root.pem'), chain.root);
    await shell(
      0,
      'certconfig certauthority custom import --file root.pem',
      'certconfig certauthority custom enable',
      `dnsconfig servers 127.0.0.1:${dns.port}`,
      'dnsconfig validation resolver',
      `smtproutes new sts.test mx.sts.test:${sink.port}`,
      'destconfig new sts.test --tls preferred --mta-sts yes',
      'listenerconfig edit InboundMail rcptaccess add sts.test',
      `smtproutes new reports.test 127.0.0.1:${mailbox.port}`,
      'tlsrptconfig enable --hour 23',
      'commit "MTA-STS and TLS reports for sts.test"',
    );
    await appliedEverywhere(await clusterVersion(0));
    await Promise.all(IPS.map((ip, i) => submitOverTls(ip, 'user@sts.test', `sts via mx${i + 1}`)));
    await until(homes[0]!, 'three messages at the MX', () => sink.received.length >= 3, 30_000);
    const logs = await Promise.all([0, 1, 2].map(mailLogs));
    const stsLines = logs.map((l) => l.split('\n').filter((x) => /MTA-STS/.test(x)).join('\n')).join('\n---\n');
    assert.equal(stsHost.fetches.get('sts.test'), 1, `the policy was fetched once for the whole cluster:\n${stsLines}`);
    assert.equal(logs.filter((l) => /Successfully fetched MTA-STS policy for the domain\(sts\.test\)/.test(l)).length, 1);
    assert.equal(logs.filter((l) => /MTA-STS policy for the domain\(sts\.test\) taken from the cluster \(fetched by mx\d\.cluster\.test\)/.test(l)).length, 2, stsLines);

    // tlsreport on any member counts the whole cluster's deliveries: each member shares its counts in etcd.
    // Two hours, so that a delivery just before the hour and a look just after still meet.
    await until(homes[1]!, "the cluster's deliveries in mx2's tlsreport", async () => /^sts\.test +3 +0 +0 +0 +0 +0 +3 +0 +100 %$/m.test(await shell(1, 'tlsreport sts.test --hours 2')));
    assert.match(await shell(0, 'tlsreport'), /^sts\.test +3 /m, 'the days too, on another member');
    // Each member shares a day bucket and an hour bucket; mx1 may have more (its delivery of an
    // earlier test, when the clock has passed an hour since).
    const prefix = '/mxgate/tls-statistics/tls-statistics/';
    const shared = (await etcdKeys(prefix)).map((k) => k.slice(prefix.length).split('/') as [string, string]);
    assert.deepEqual([...new Set(shared.map(([, machine]) => machine))].sort(), NAMES, 'every member and nobody else');
    for (const name of NAMES) {
      const buckets = shared.filter(([, machine]) => machine === name).map(([bucket]) => bucket);
      assert.ok(buckets.some((b) => /^\d{4}-\d\d-\d\d$/.test(b)) && buckets.some((b) => /^\d{4}-\d\d-\d\dT\d\d$/.test(b)), `${name} shares a day and an hour: ${buckets.join(' ')}`);
    }

    // Each member hands its sessions to the cluster as it records them; one send-now reports them all, once.
    await until(homes[0]!, 'every member\'s TLS material in etcd', async () => (await etcdKeys('/mxgate/tlsrpt/')).length === 3);
    assert.match(await shell(1, 'tlsrptconfig send-now'), /sts\.test \(\d{4}-\d\d-\d\d\): report \S+ queued to tls-reports@reports\.test \(MID \d+\)/);
    const mail = await until(homes[1]!, 'the report mail', () => mailbox.received.find((m) => m.data.includes('TLS-Report-Domain: sts.test')), 30_000);
    const b64 = /Content-Disposition: attachment; filename="[^"]+"\r\n\r\n([A-Za-z0-9+/=\r\n]+)/.exec(mail.data)![1]!;
    const report = JSON.parse(gunzipSync(Buffer.from(b64.replace(/\r\n/g, ''), 'base64')).toString('utf8'));
    const sts = report.policies.find((p: { policy: { 'policy-type': string } }) => p.policy['policy-type'] === 'sts');
    assert.equal(sts.summary['total-successful-session-count'], 3, 'one report counts the sessions of all three members');
    assert.deepEqual(await etcdKeys('/mxgate/tlsrpt/'), [], 'what was reported left etcd');
    assert.match(await shell(2, 'tlsrptconfig send-now'), /There is no TLS session recorded since the last report\./);
    assert.equal(mailbox.received.filter((m) => m.data.includes('TLS-Report-Domain: sts.test')).length, 1);
  } finally {
    await mailbox.close();
    await sink.close();
    await dns.close();
    await stsHost.close();
  }
});

test('removemachine: the removed machine goes on alone with its last configuration; leave does the same from inside; a machine that left can join again', async () => {
  const own = await mxgate(homes[0]!, ['-c', `clusterconfig removemachine ${NAMES[0]}`]);
  assert.notEqual(own.code, 0);
  assert.match(own.stderr, /use "clusterconfig leave"/);
  assert.match(await shell(0, `clusterconfig removemachine ${NAMES[2]}`), /mx3\.cluster\.test was removed from the cluster/);
  await until(homes[2]!, 'mx3 to notice it was removed', async () => !/Cluster:/.test(await shell(2, 'status')));
  assert.match(await mailLogs(2), /Removed from cluster Gateways at version \d+ by root; this machine keeps running its last applied configuration/);
  assert.equal(await mailFromReply(IPS[2]!), '530', 'mx3 keeps the listener the cluster gave it');
  assert.doesNotMatch(await shell(0, 'clusterconfig list'), /mx3/);
  // A commit on the two left reaches mx2, not mx3, which now commits on its own.
  await shell(0, 'destconfig new after-removal.test --tls required', 'commit "after removal"');
  await appliedEverywhere(await clusterVersion(0), [0, 1]);
  assert.doesNotMatch(await shell(2, 'destconfig list'), /after-removal\.test/);
  assert.match(await shell(2, 'destconfig new mx3-alone.test --tls required', 'commit "mx3 alone"'), /Changes committed/);
  // The one-minute token made at the start has expired by now: refused.
  const wait = expiring.issued + 65_000 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const expired = await mxgate(homes[2]!, ['-c', `clusterconfig join ${IPS[0]}:2380 --token ${expiring.token} --address ${IPS[2]}`]);
  assert.notEqual(expired.code, 0);
  assert.match(expired.stderr, /The join token has expired or was already used/);
  // ... and not only because the joining machine checked: the members remove its etcd account.
  const account = `join-${expiring.token.split('.')[0]}`;
  await until(homes[0]!, `the expired token's account ${account} to go`, async () => !(await etcdctl('user', 'list')).includes(account), 45_000);

  assert.match(await shell(1, 'clusterconfig leave'), /This machine left cluster Gateways; its configuration is its own again/);
  assert.doesNotMatch(await shell(1, 'status'), /Cluster:/);
  assert.match(await shell(1, 'destconfig list'), /after-removal\.test/);
  const alone = await shell(0, 'clusterconfig list');
  assert.match(alone, /mx1\.cluster\.test/);
  assert.doesNotMatch(alone, /mx2/);
  // The cluster of one still commits; mx3 joins again with a new token and gets the cluster's settings back.
  await shell(0, 'destconfig new one-left.test --tls required', 'commit "one member left"');
  assert.match(await shell(2, `clusterconfig join ${IPS[0]}:2380 --token ${await token(0)} --address ${IPS[2]}`), /mx3\.cluster\.test joined cluster Gateways/);
  await appliedEverywhere(await clusterVersion(0), [0, 2]);
  const dest = await shell(2, 'destconfig list');
  assert.match(dest, /one-left\.test/);
  assert.doesNotMatch(dest, /mx3-alone\.test/);
});
