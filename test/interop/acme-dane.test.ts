import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { applianceWithListener, cleanup, freePort, logMark, mxgate, runProgram, sendMail, stopEngine, until, waitForLog } from '../helpers.js';
import { serveZones } from '../dnssec-lab.js';
import { type KnotPrimary, startKnot } from '../knot.js';
import { type Pebble, startPebble } from '../pebble.js';
import { type Postfix, postfixToolConfig, startPostfix } from '../postfix.js';
import { tool } from '../system-tools.js';

/**
 * A renewal that changes the key of a DANE profile, judged by Postfix's DANE client: Knot signs
 * acme.test and takes the appliance's TSIG-signed updates; unbound validates it with Knot's key as
 * trust anchor; Pebble issues the certificates (DNS-01). posttls-finger -l dane must report a
 * verified DANE session at every moment of the rollover, and a Postfix sender at dane-only level must
 * keep delivering to it; a key swapped without it is shown to fail.
 */
const execFileP = promisify(execFile);
const key = { name: 'mxgate-update', secret: randomBytes(32) };
/** posttls-finger reads its resolver from resolv.conf (port 53): unbound answers there in a private mount namespace. */
const RESOLV_ADDRESS = '127.0.0.154';
let knot: KnotPrimary;
let pebble: Pebble;
let unbound: { close(): Promise<void> };
let sender: Postfix;
let labDir: string;
let home: string;
let port: number;

const run = (...lines: string[]) => mxgate(home, lines.flatMap((l) => ['-c', l]));

before(async () => {
  knot = await startKnot([{ name: 'acme.test', records: ['mx1 IN A 127.0.0.1'] }], key, { signed: true });
  labDir = mkdtempSync(path.join(os.tmpdir(), 'mxg-acme-dane-'));
  await writeFile(path.join(labDir, 'anchors.key'), knot.anchors.join('\n') + '\n');
  unbound = await serveZones(labDir, 0, await freePort(), [], [`  interface: ${RESOLV_ADDRESS}@53`, `  trust-anchor-file: "${labDir}/anchors.key"`, '  local-zone: "test." nodefault'], ['acme.test'], `${knot.host}@${knot.port}`);
  pebble = await startPebble({ dnsServer: `${knot.host}:${knot.port}` });
  ({ home, port } = await applianceWithListener());
  const conf = (f: string) => path.join(home, 'configuration', f);
  await writeFile(conf('pebble-https.pem'), pebble.httpsCertificate);
  await writeFile(conf('update.key'), `hmac-sha256:${key.name}:${key.secret.toString('base64')}\n`);
  const setup = await run(
    'certconfig certauthority custom import --file pebble-https.pem',
    'certconfig certauthority custom enable',
    `dnsconfig servers ${knot.host}:${knot.port}`,
    'dnsconfig validation builtin',
    `dnsconfig trustanchor add --dnskey "${knot.anchors[0]}"`,
    `dnsconfig update-server acme.test ${knot.host}:${knot.port} --tsig-key-file update.key`,
    'commit "ACME lab"',
    `certconfig acme account new --directory ${pebble.directory} --email admin@acme.test --agree-tos`,
    'certconfig acme new mx1 --names mx1.acme.test --challenge dns-01',
    `certconfig acme dane mx1 --port ${port} --ttl 4`,
    'listenerconfig edit InboundMail certificate mx1',
    'listenerconfig edit InboundMail hostaccess default --tls preferred',
    'commit "ACME certificate with DANE"',
  );
  if (setup.code !== 0) throw new Error(`setup failed:\n${setup.stdout}${setup.stderr}`);
  // Postfix as a DANE sender: mandatory DANE (dane-only), a new connection per message.
  sender = await startPostfix({
    domain: 'pf-sender.test',
    hostname: 'mx.pf-sender.test',
    resolvConf: await resolvConf(),
    main: [
      'smtp_tls_security_level = dane-only',
      'smtp_dns_support_level = dnssec',
      'dnssec_probe =',
      'smtp_tls_loglevel = 1',
      'smtp_connection_cache_on_demand = no',
      `transport_maps = inline:{example.net=smtp:[mx1.acme.test]:${port}}`,
    ],
  });
});
after(async () => {
  await cleanup(home);
  await sender?.stop();
  await pebble?.close();
  await unbound?.close();
  await knot?.close();
  if (labDir) rmSync(labDir, { recursive: true, force: true });
});

async function resolvConf(): Promise<string> {
  const resolv = path.join(labDir, 'resolv.conf');
  await writeFile(resolv, `nameserver ${RESOLV_ADDRESS}\noptions trust-ad edns0\n`);
  return resolv;
}

/** posttls-finger at DANE level to the listener: 'verified', 'no-match', or what it said. */
async function finger(): Promise<string> {
  const resolv = await resolvConf();
  const env = await postfixToolConfig(labDir);
  const script = `mount --bind "${resolv}" /etc/resolv.conf && exec "${tool('posttls-finger')}" -c -t 10 -T 20 -l dane -o smtp_dns_support_level=dnssec -o dnssec_probe= "[mx1.acme.test]:${port}"`;
  const r = await execFileP(tool('unshare'), ['-m', 'sh', '-c', script], { env }).catch((e: { stdout?: string; stderr?: string }) => ({ stdout: e.stdout ?? '', stderr: e.stderr ?? '' }));
  const out = `${r.stdout}${r.stderr}`;
  if (/Matched DANE EE certificate/.test(out) && /Verified TLS connection established/.test(out)) return 'verified';
  if (/no matching DANE TLSA records|TLSA lookup error/.test(out)) return 'no-match';
  return out;
}

/** One message through the Postfix sender to the gateway: 'sent' or Postfix's delivery line. */
async function throughPostfix(subject: string): Promise<string> {
  const queued = /queued as ([0-9A-F]+)/.exec((await sendMail(sender.port, subject)).response)?.[1];
  assert.ok(queued, 'Postfix queued the message');
  const line = await until(home, `Postfix's delivery of ${subject}`, async () => new RegExp(`${queued}: to=<rcpt1@example\\.net>.*status=\\w+.*`).exec(await sender.log())?.[0], 30_000);
  return /status=sent/.test(line) && line.includes(`relay=mx1.acme.test[127.0.0.1]:${port}`) ? 'sent' : line;
}

const committed = async () => JSON.parse(await readFile(path.join(home, 'config', 'current.json'), 'utf8'));

test('before any renewal the engine has published the key\'s TLSA record, and posttls-finger verifies the gateway by DANE', async () => {
  await waitForLog(home, /ACME: TLSA 3 1 1 [0-9a-f]{16}… of mx1 published at _\d+\._tcp\.mx1\.acme\.test/, 15_000);
  assert.equal(await until(home, 'a DANE-verified session', async () => ((await finger()) === 'verified' ? 'verified' : false), 20_000), 'verified');
  assert.equal(await throughPostfix('before the renewal'), 'sent');
  assert.match(await sender.log(), new RegExp(`Verified TLS connection established to mx1\\.acme\\.test\\[127\\.0\\.0\\.1\\]:${port}`));
});

test('a renewal with a new key rolls the TLSA records over: posttls-finger verifies the gateway at every step, Postfix keeps delivering, and the new key is served only after its record was seen', async (t) => {
  const before = (await committed()).config.certificates.find((c: { name: string }) => c.name === 'mx1');
  const renew = await run('certconfig acme renew mx1');
  assert.equal(renew.code, 0, renew.stdout + renew.stderr);
  assert.match(renew.stdout, /a certificate with a new key was issued; its TLSA record is published/);
  const verdicts: string[] = [];
  // Until the rollover is over: every probe must verify, whatever the step.
  for (;;) {
    const status = await run('certconfig tlsa mx1');
    const step = /TLSA rollover: (next record published|both records visible|new certificate in service|none under way)/.exec(status.stdout)?.[1] ?? status.stdout;
    verdicts.push(`${step}: ${await finger()}`, `${step} (Postfix): ${await throughPostfix(`during the rollover, ${step}`)}`);
    if (step === 'none under way') break;
    assert.ok(verdicts.length < 120, `the rollover did not finish:\n${verdicts.join('\n')}`);
  }
  t.diagnostic(verdicts.join('; '));
  assert.deepEqual(verdicts.filter((v) => !v.endsWith(': verified') && !v.endsWith(': sent')), [], 'every probe verified by DANE, every message delivered');
  assert.ok(verdicts.length >= 4, `a probe was made while the rollover was under way:\n${verdicts.join('\n')}`);
  const log = await waitForLog(home, /ACME: TLSA rollover of mx1 done: the old key's record [0-9a-f]{16}… is removed/);
  const order = ['published beside', 'both records are visible', 'the new certificate is in service', 'rollover of mx1 done'].map((w) => log.indexOf(w));
  assert.ok(order.every((at, i) => at > 0 && (i === 0 || at > order[i - 1]!)), `the steps in order:\n${log}`);
  const head = await committed();
  const after = head.config.certificates.find((c: { name: string }) => c.name === 'mx1');
  assert.notEqual(after.keyRef, before.keyRef);
  assert.equal(head.user, 'acme');
  assert.match(head.comment, /ACME renewal of mx1 \(new key, after its TLSA record was visible for \d+ seconds\)/);
});

test('the same key change without the rollover (new key served before its record exists) is what DANE clients refuse', async () => {
  const swap = await run('certconfig acme new mx1 --names mx1.acme.test --challenge dns-01 --overwrite', 'commit "new key without rollover"');
  assert.equal(swap.code, 0, swap.stdout + swap.stderr);
  assert.equal(await finger(), 'no-match');
  const refused = await throughPostfix('after a swap without rollover');
  assert.match(refused, /status=deferred/, 'the Postfix DANE sender keeps the message rather than send it unauthenticated');
});

const renewalState = async () => JSON.parse(await readFile(path.join(home, 'acme', 'renewals.json'), 'utf8')).mx1;

test('an engine restarted in the middle of a rollover goes on where it stopped, and DANE holds throughout', async () => {
  // A longer TTL, so the engine is surely stopped while it waits.
  const slow = await run(`certconfig acme dane mx1 --port ${port} --ttl 10`, 'commit "TLSA TTL 10 s"');
  assert.equal(slow.code, 0, slow.stdout + slow.stderr);
  const mark = await logMark(home);
  const keyBefore = (await committed()).config.certificates.find((c: { name: string }) => c.name === 'mx1').keyRef;
  assert.equal((await run('certconfig acme renew mx1')).code, 0);
  await waitForLog(home, /TLSA rollover of mx1: both records are visible/, 30_000, mark);
  await stopEngine(home);
  assert.equal((await renewalState()).rollover.step, 'visible', 'the step is on disk');
  assert.equal((await mxgate(home, ['engine', 'start'])).code, 0);
  assert.equal(await finger(), 'verified', 'the old certificate is served after the restart');
  await waitForLog(home, /TLSA rollover of mx1: the new certificate is in service/, 30_000, mark);
  assert.equal(await finger(), 'verified', 'both records are there when the new certificate is served');
  await waitForLog(home, /TLSA rollover of mx1 done/, 30_000, mark);
  assert.equal(await finger(), 'verified');
  assert.notEqual((await committed()).config.certificates.find((c: { name: string }) => c.name === 'mx1').keyRef, keyBefore);
});

test('the next key\'s record removed behind the engine\'s back while it waits: the rollover stops, the old certificate stays in service and an alert says why', async () => {
  const mark = await logMark(home);
  const served = (await committed()).config.certificates.find((c: { name: string }) => c.name === 'mx1').certificate;
  assert.equal((await run('certconfig acme renew mx1')).code, 0);
  await waitForLog(home, /TLSA rollover of mx1: both records are visible/, 30_000, mark);
  const next: string = (await renewalState()).rollover.new;
  // Someone else's update (BIND's nsupdate with the zone's key) deletes the next key's record.
  const script = [`server ${knot.host} ${knot.port}`, 'zone acme.test', `update delete _${port}._tcp.mx1.acme.test TLSA 3 1 1 ${next}`, 'send', ''].join('\n');
  const nsupdate = await runProgram(tool('nsupdate'), ['-y', `hmac-sha256:${key.name}:${key.secret.toString('base64')}`], script);
  assert.equal(nsupdate.code, 0, nsupdate.stderr);
  await waitForLog(home, /renewal of certificate profile mx1 failed \(1 in a row\): TLSA rollover \(step visible\): the TLSA records went away while the TTL was waited/, 30_000, mark);
  assert.equal((await committed()).config.certificates.find((c: { name: string }) => c.name === 'mx1').certificate, served, 'the old certificate stays in service');
  assert.equal((await renewalState()).rollover, undefined);
  const alerts = await run('displayalerts', 'certconfig tlsa mx1');
  assert.match(alerts.stdout, /The TLSA rollover of certificate profile mx1 failed/);
  assert.match(alerts.stdout, /TLSA rollover: none under way/);
  assert.equal(await finger(), 'verified', 'DANE still verifies the certificate in service');
});
