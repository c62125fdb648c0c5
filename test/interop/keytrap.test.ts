import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import nodemailer from 'nodemailer';
import { type DnssecHierarchy, startDnssecHierarchy } from '../dnssec-hierarchy.js';
import { applianceWithListener, cleanup, mxgate, shellOk, submitMail, waitForLog } from '../helpers.js';
import { type Sink, smtpSink } from '../sink.js';

/**
 * KeyTrap (CVE-2023-50387) against a live engine: a zone signed by ldns-signzone whose DNSKEY RRset
 * holds 30 more keys with the ZSK's key tag and whose every RRset carries 30 bogus signatures
 * naming that tag, served by NSD through unbound (which passes it on with checking disabled). The
 * engine validates itself under the new appliance's defaults (DANE Opportunistic): each lookup stops
 * at its budget of signature checks, the mail waits as BOGUS and is never sent, and the listener
 * answers meanwhile.
 */
const HOSTS = 20;
const SESSIONS = 8;
let lab: DnssecHierarchy;
let sink: Sink;
let home: string;
let port: number;

before(async () => {
  sink = await smtpSink();
  const records = Array.from({ length: HOSTS }, (_, i) => [`mx${i} IN A 127.0.0.1`, `_${sink.port}._tcp.mx${i} IN TLSA 3 1 1 ${'ab'.repeat(32)}`]).flat();
  lab = await startDnssecHierarchy('lab', [], [{ name: 'trap.lab', algorithm: 'ED25519', records, keyTrap: { keys: 30, signatures: 30 } }]);
  ({ home, port } = await applianceWithListener());
  await shellOk(
    home,
    'listenerconfig edit InboundMail rcptaccess add .lab',
    `dnsconfig servers ${lab.resolver.host}:${lab.resolver.port}`,
    'dnsconfig trustanchor delete 20326',
    'dnsconfig trustanchor delete 38696',
    `dnsconfig trustanchor add --ds "${lab.anchor.replace(/\s+/g, ' ')}"`,
    ...Array.from({ length: HOSTS }, (_, i) => `smtproutes new d${i}.trap.lab mx${i}.trap.lab:${sink.port}`),
    'commit "keytrap lab"',
  );
});
after(async () => {
  await cleanup(home);
  await lab?.close();
  await sink?.close();
});

test('KeyTrap: every lookup in the zone stops at its budget and is BOGUS; the mail waits unsent; SMTP sessions are served meanwhile', async (t) => {
  const started = Date.now();
  const mids: number[] = [];
  for (let i = 0; i < HOSTS; i++) mids.push(await submitMail(port, `user@d${i}.trap.lab`, `keytrap ${i}`));
  // While the engine validates the hostile zone for twenty deliveries, clients say EHLO and QUIT
  // (eight at once: the listener's default limit per client address is ten).
  const served = await Promise.all(
    Array.from({ length: SESSIONS }, async () => {
      const client = nodemailer.createTransport({ host: '127.0.0.1', port, ignoreTLS: true });
      try {
        return await client.verify();
      } finally {
        client.close();
      }
    }),
  );
  assert.deepEqual(served, Array(SESSIONS).fill(true));
  for (const mid of mids) {
    const log = await waitForLog(home, new RegExp(`Delayed: MID ${mid} RID \\[0\\].*`), 30_000);
    assert.match(log, new RegExp(`Delayed: MID ${mid} RID \\[0\\].*(BOGUS|failed validation)`));
  }
  t.diagnostic(`${HOSTS} deliveries to the KeyTrap zone refused (BOGUS) within ${Date.now() - started} ms`);
  assert.equal(sink.received.length, 0, 'nothing reached the host');
  const dv = await mxgate(home, ['-c', 'daneverify d0.trap.lab']);
  assert.equal(dv.code, 1, dv.stdout + dv.stderr);
  assert.match(dv.stdout + dv.stderr, /BOGUS/);
  assert.match(dv.stdout + dv.stderr, /more than \d+ signature checks for one lookup \(a hostile zone\?\)|does not verify with key \d+ of trap\.lab/);
});
