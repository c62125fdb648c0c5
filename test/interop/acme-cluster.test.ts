import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { cleanup, shellOk, tempHome, until, waitForLog } from '../helpers.js';
import { type KnotPrimary, startKnot } from '../knot.js';
import { type Pebble, startPebble } from '../pebble.js';
import { tool } from '../system-tools.js';

/**
 * ACME in a cluster: two appliances (127.0.0.71-72, etcd on 2379/2380 there) share a profile set at
 * cluster level. One member renews it for both (the first one up, by name); a renewal asked on
 * the other is committed as a cluster version where the profile is set, its new key sealed into
 * etcd, and both members serve the new certificate. Pebble issues, Knot takes the DNS-01 updates.
 */
const IPS = ['127.0.0.71', '127.0.0.72'];
const NAMES = ['mx1.acme-cluster.test', 'mx2.acme-cluster.test'];
const SMTP_PORT = 2525;
const key = { name: 'mxgate-update', secret: randomBytes(32) };
const homes: string[] = [];
let knot: KnotPrimary;
let pebble: Pebble;

const shell = (i: number, ...lines: string[]) => shellOk(homes[i]!, ...lines);

/** The SHA-256 fingerprint of the certificate a member's listener presents after STARTTLS. */
async function presented(ip: string): Promise<string> {
  const child = spawn(tool('openssl'), ['s_client', '-starttls', 'smtp', '-connect', `${ip}:${SMTP_PORT}`, '-servername', 'mx.acme.test'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', () => undefined);
  child.stdin.end('QUIT\r\n');
  await new Promise((resolve) => child.on('close', resolve));
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(out)?.[0];
  return pem ? new X509Certificate(pem).fingerprint256 : `no certificate:\n${out}`;
}

before(async () => {
  knot = await startKnot([{ name: 'acme.test', records: ['mx IN A 127.0.0.1'] }], key);
  pebble = await startPebble({ dnsServer: `${knot.host}:${knot.port}` });
  for (const [i, ip] of IPS.entries()) {
    const home = await tempHome();
    homes.push(home);
    await shell(i, `sethostname ${NAMES[i]}`, `interfaceconfig new Public --ip ${ip}`, 'commit');
  }
  const conf = (f: string) => path.join(homes[0]!, 'configuration', f);
  await writeFile(conf('pebble-https.pem'), pebble.httpsCertificate);
  await writeFile(conf('update.key'), `hmac-sha256:${key.name}:${key.secret.toString('base64')}\n`);
  await shell(
    0,
    'certconfig certauthority custom import --file pebble-https.pem',
    'certconfig certauthority custom enable',
    `dnsconfig servers ${knot.host}:${knot.port}`,
    `dnsconfig update-server acme.test ${knot.host}:${knot.port} --tsig-key-file update.key`,
    'commit "ACME lab"',
    `certconfig acme account new --directory ${pebble.directory} --email admin@acme.test --agree-tos`,
    'certconfig acme new mx --names mx.acme.test --challenge dns-01',
    `listenerconfig new InboundMail --type public --interface Public --port ${SMTP_PORT}`,
    'listenerconfig edit InboundMail rcptaccess add example.net',
    'listenerconfig edit InboundMail certificate mx',
    'listenerconfig edit InboundMail hostaccess default --tls preferred',
    'commit "ACME certificate before the cluster"',
    `clusterconfig create AcmeGateways --address ${IPS[0]}`,
  );
  const token = (await shell(0, 'clusterconfig token --ttl 10')).trim().split('\n').at(-1)!;
  await shell(1, `clusterconfig join ${IPS[0]}:2380 --token ${token} --address ${IPS[1]}`);
});

after(async () => {
  for (const h of homes) await cleanup(h);
  await pebble?.close();
  await knot?.close();
});

test('a shared ACME profile is renewed by one member for the cluster: the renewal is a cluster version, its key reaches the other member sealed, and both serve the new certificate', async () => {
  const before = await until(homes[0]!, 'both members to serve the ACME certificate', async () => {
    const [a, b] = await Promise.all(IPS.map(presented));
    return a === b && !a.startsWith('no') ? a : false;
  }, 30_000);
  // mx1 (first by name, up) renews the shared profile by itself; mx2 leaves it to mx1.
  assert.match(await shell(0, 'certconfig acme status'), /renewed automatically by this machine/);
  assert.match(await shell(1, 'certconfig acme status'), /renewed automatically by another member of the cluster/);

  // An administrator on mx2 asks for a renewal now: committed at cluster level, where the profile is.
  const renewed = await shell(1, 'certconfig acme renew mx');
  assert.match(renewed, /Certificate profile mx renewed with a new key, valid until .*; in service as configuration version \d+\./);
  await waitForLog(homes[0]!, /Cluster AcmeGateways version \d+: ACME renewal of mx \(new key\)/, 30_000);
  const after = await until(homes[0]!, 'both members to serve the renewed certificate', async () => {
    const [a, b] = await Promise.all(IPS.map(presented));
    return a === b && a !== before ? a : false;
  }, 30_000);
  assert.notEqual(after, before);
});
