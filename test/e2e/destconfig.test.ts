import { FORWARD_SECRET_CIPHERS } from '../../src/store/schema.js';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { cleanup, GUIDE_DESTINATION_DEFAULTS, mxgate, shellOk, stopEngine, tempHome } from '../helpers.js';
import { parseTrustAnchor } from '../../src/store/network/trustAnchors.js';

let home: string;
const committed = async () => JSON.parse(await readFile(path.join(home, 'config', 'current.json'), 'utf8')).config;
before(async () => {
  home = await tempHome();
  await shellOk(home, GUIDE_DESTINATION_DEFAULTS, 'commit "the guide\'s factory defaults"');
});
after(() => cleanup(home));

test('destconfig batch forms: new, edit, default, setup, list, detail, delete; committed', async () => {
  const r = await mxgate(home, [
    '-c', 'destconfig new partner.example --tls required-verify --max-concurrency 5',
    '-c', 'destconfig new .partner.example --tls preferred',
    '-c', 'destconfig edit partner.example --recipient-limit 100/60',
    '-c', 'bounceconfig new OneDay --max-queue-time 86400',
    '-c', 'destconfig default --tls preferred --bounce-profile OneDay',
    '-c', 'destconfig setup --certificate Demo --alert-on-required-tls-failure yes',
    '-c', 'destconfig list',
    '-c', 'destconfig detail partner.example',
    '-c', 'commit destinations',
  ]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^partner\.example +Required \(Verify\) +Default \(None\) +Default \(No\) +5 +50$/m);
  assert.match(r.stdout, /^\.partner\.example +Preferred +Default \(None\) +Default \(No\) +500 +50$/m);
  assert.match(r.stdout, /^Default +Preferred +None +No +500 +50$/m);
  assert.match(r.stdout, /Warning: You may use the demo certificate to test TLS, but this will not be secure\./);
  assert.match(r.stdout, /Recipient limit: 100 per 60 minutes\n/);
  assert.match(r.stdout, /Bounce profile: OneDay \(Default\)/);
  const c = await committed();
  assert.equal(c.delivery.alertOnRequiredTlsFailure, true);
  assert.equal(c.delivery.defaults.bounceProfile, 'OneDay');
  assert.equal(c.bounceProfiles.find((p: { name: string }) => p.name === 'OneDay').maxQueueSeconds, 86400);
  assert.equal(c.delivery.certificate, 'Demo');
  assert.deepEqual(c.delivery.destinations.map((d: { domain: string; tls: string }) => `${d.domain}:${d.tls}`), ['partner.example:required-verify', '.partner.example:preferred']);
  const del = await mxgate(home, ['-c', 'certconfig delete Demo']);
  assert.match(del.stdout, /used by outbound TLS \(destconfig\)/);
});

test('a new appliance delivers securely by default; an entry with TLS No is plain SMTP; the guide\'s defaults come back with one command and stay after a restart', async () => {
  const fresh = await tempHome();
  try {
    const list = await shellOk(fresh, 'destconfig list');
    assert.match(list, /^Default +Preferred +Opportunistic +Yes +500 +50$/m, list);
    // TLS No on an entry turns off the DANE and MTA-STS it would inherit; asking for them explicitly is refused.
    const plain = await shellOk(fresh, 'destconfig new plain.example --tls no', 'destconfig list', 'destconfig detail plain.example', 'commit "plain"');
    assert.match(plain, /^plain\.example +No +None \(TLS is No\) +No \(TLS is No\) +500 +50$/m, plain);
    assert.match(plain, /DANE Support: None \(TLS is No\)\n {4}MTA-STS Support: No \(TLS is No\)\n/);
    const refused = await mxgate(fresh, ['-c', 'destconfig new dane.example --tls no --dane opportunistic']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /DANE and MTA-STS need a TLS setting other than No \(dane\.example \(DANE\)\)/);
    await shellOk(fresh, GUIDE_DESTINATION_DEFAULTS, 'commit "the guide\'s factory defaults"');
    await stopEngine(fresh);
    const after = await shellOk(fresh, 'destconfig list');
    assert.match(after, /^Default +No +None +No +500 +50$/m, 'an existing data directory keeps its settings');
  } finally {
    await cleanup(fresh);
  }
});

test('destconfig errors: unknown TLS value, duplicate entry, missing entry, bad domain', async () => {
  const r = await mxgate(home, [
    '--keep-going',
    '-c', 'destconfig new x.example --tls sometimes',
    '-c', 'destconfig new partner.example --tls no',
    '-c', 'destconfig edit nothere.example --tls no',
    '-c', 'destconfig new bad_domain! --tls no',
  ]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /--tls must be one of default, no, preferred, required, preferred-verify, required-verify, required-verify-hosted; not "sometimes"/);
  assert.match(r.stdout, /already a destination control entry for partner\.example/);
  assert.match(r.stdout, /nothere\.example was not found in the destination control table/);
  assert.match(r.stdout, /"bad_domain!" is not a domain or "\.domain"/);
});

test('export and import round trip; a broken file is refused with its line', async () => {
  const out = await mxgate(home, ['-c', 'destconfig export --file dest.txt']);
  assert.equal(out.code, 0, out.stdout);
  const text = await readFile(path.join(home, 'configuration', 'dest.txt'), 'utf8');
  assert.match(text, /^\[DEFAULT\]\ntls = preferred\n/);
  assert.match(text, /^\[partner\.example\]\ntls = required-verify\nmax_host_concurrency = 5\nrecipient_limit = 100\nrecipient_minutes = 60$/m);
  const cleared = await mxgate(home, ['-c', 'destconfig clear', '-c', 'destconfig import --file dest.txt', '-c', 'showchanges']);
  assert.match(cleared.stdout, /No changes have been made\./, 'import restored exactly what was cleared');
  await writeFile(path.join(home, 'configuration', 'broken.txt'), '[DEFAULT]\ntls = maybe\n');
  const broken = await mxgate(home, ['-c', 'destconfig import --file broken.txt']);
  assert.match(broken.stdout, /\[DEFAULT\] tls must be one of/);
  // ip_sort_pref as the appliance writes it (its files mix the case: REQUIRE_v6).
  assert.match(text, /^\[DEFAULT\]\n(?:.+\n)*ip_sort_pref = PREFER_V6\n/m);
  await writeFile(path.join(home, 'configuration', 'v6.txt'), text.replace(/^\[partner\.example\]\n/m, '[partner.example]\nip_sort_pref = REQUIRE_v6\n'));
  const v6 = await mxgate(home, ['-c', 'destconfig import --file v6.txt', '-c', 'destconfig detail partner.example', '-c', 'showchanges']);
  assert.match(v6.stdout, /IP sort preference: Require IPv6\n/);
  assert.match(v6.stdout, /destination partner\.example: IP sort preference \(Default\) → Require IPv6|destination partner\.example: IP sort preference .*Require IPv6/);
  await writeFile(path.join(home, 'configuration', 'bad-sort.txt'), '[DEFAULT]\ntls = no\nip_sort_pref = SOMETIMES\n');
  const badSort = await mxgate(home, ['-c', 'destconfig import --file bad-sort.txt']);
  assert.match(badSort.stdout, /\[DEFAULT\] ip_sort_pref must be one of PREFER_V4, PREFER_V6, REQUIRE_V4, REQUIRE_V6, not "SOMETIMES"/);
});

test('the NEW dialog asks the appliance\'s questions; "no" to the TLS question keeps Default', async () => {
  const script = ['destconfig', 'new', 'dialog.example', 'Y', '7', 'N', '2', '', 'N', 'Y', '6', 'Y', '2', 'N', 'N', 'N', 'Y', '3', '', 'destconfig detail dialog.example', ''].join('\n');
  const r = await mxgate(home, [], script);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Do you wish to apply a specific TLS setting for this domain\? \[N\]> Y\nDo you want to use TLS support\?\n1\. No\n2\. Preferred\n3\. Required\n4\. Preferred \(Verify\)\n5\. Required \(Verify\)\n6\. Required - Verify Hosted Domain/);
  assert.match(r.stdout, /Do you wish to configure DANE Support for this domain\? \[N\]> Y\nPlease choose a DANE option:\n1\. None\n2\. Opportunistic\n3\. Mandatory/);
  assert.match(r.stdout, /Do you wish to apply a specific IP sort preference to this domain\? \[N\]> Y\nHow do you want to sort IP addresses within an MX\?\n1\. Prefer IPv4\n2\. Prefer IPv6\n3\. Require IPv4\n4\. Require IPv6\n\[2\]> 3/);
  assert.match(r.stdout, /TLS: Required - Verify Hosted Domain\n {4}DANE Support: Opportunistic\n {4}MTA-STS Support: No \(Default\)\n {4}IP sort preference: Require IPv4\n {4}Maximum concurrency: 7\n {4}Limits apply: Separate limit for each mail exchanger IP address\n {4}Limits are enforced: System Wide\n/);
  assert.match(r.stdout, /Do you wish to configure a concurrency limit for this domain\? \[N\]> Y\nEnter the max concurrency limit\.\n\[500\]> 7\nDo you wish to apply a recipient limit to this domain\? \[N\]> N\nHow do you want to apply the limits for this domain\?\n1\. One limit applies to the entire domain\n2\. Separate limit for each mail exchanger IP address\n\[1\]> 2\nSelect how the limits will be enforced/, 'the appliance\'s order: concurrency, recipient limit, how the limits apply, then messages per connection');
  const again = await mxgate(home, [], ['destconfig', 'new', 'plain.example', 'N', 'N', 'N', 'N', 'N', 'N', 'N', 'N', 'N', '', 'destconfig detail plain.example', ''].join('\n'));
  assert.match(again.stdout, /TLS: Preferred \(Default\)\n {4}DANE Support: None \(Default\)/);
});

test('dnsconfig validation and trust anchors: builtin by default with the root KSKs; anchors added, listed and deleted; bad ones refused with the reason', async () => {
  const fresh = await mxgate(home, ['-c', 'dnsconfig', '-c', 'dnsconfig trustanchor print']);
  assert.match(fresh.stdout, /DNSSEC validation: builtin \(the engine validates\)/);
  assert.match(fresh.stdout, /^\. IN DS 20326 8 2 E06D44B8\S+ +; \. key tag 20326$/m);
  assert.match(fresh.stdout, /^\. IN DS 38696 8 2 683D2D0A\S+ +; \. key tag 38696$/m);
  const r = await mxgate(home, [
    '-c', 'dnsconfig trustanchor add --ds "corp.example. 3600 IN DS 4242 13 2 AABBCCDD"',
    '-c', 'dnsconfig trustanchor delete 20326',
    '-c', 'dnsconfig validation resolver',
    '-c', 'commit anchors',
  ]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Trust anchor for corp\.example\. \(key tag 4242\) added/);
  const c = await committed();
  assert.equal(c.dns.validation, 'resolver');
  assert.deepEqual(c.dns.trustAnchors.map((l: string) => parseTrustAnchor(l).keyTag), [38696, 4242]);
  for (const [line, why] of [
    ['dnsconfig trustanchor add --ds "corp.example. IN DS 4242 13 2 AABBCCDD"', /There is already a trust anchor for corp\.example\. with key tag 4242/],
    ['dnsconfig trustanchor add --ds "corp.example. IN DS 1 13 2 XYZ"', /is not a trust anchor: a DS record is TAG ALGORITHM DIGEST-TYPE HEX/],
    ['dnsconfig trustanchor add --dnskey "corp.example. IN DS 1 13 2 AB"', /--dnskey takes a DNSKEY record; this is a DS record/],
    ['dnsconfig trustanchor delete 20326', /There is no trust anchor with key tag 20326/],
    ['dnsconfig validation maybe', /Give "dnsconfig validation builtin"/],
  ] as const) {
    const bad = await mxgate(home, ['-c', line]);
    assert.notEqual(bad.code, 0, line);
    assert.match(bad.stderr, why, line);
  }
  await shellOk(home, 'dnsconfig validation builtin', 'dnsconfig trustanchor delete 4242', `dnsconfig trustanchor add --ds "${'. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D'}"`, 'commit "back to the root"');
  assert.equal((await committed()).dns.trustAnchors.length, 2);
});

test('smtproutes, dnsconfig and sslconfig', async () => {
  const r = await mxgate(home, [
    '-c', 'smtproutes new partner.example 127.0.0.1:2526 [::1]:2527 mx.partner.example',
    '-c', 'smtproutes list',
    '-c', 'dnsconfig servers 127.0.0.1:5353,::1',
    '-c', 'sslconfig outbound --min-version TLSv1.3',
    '-c', 'sslconfig peer-cert-x509 enable',
    '-c', 'commit routing',
  ]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /partner\.example → 127\.0\.0\.1:2526, \[::1\]:2527, mx\.partner\.example:25/);
  const c = await committed();
  assert.deepEqual(c.dns.servers, ['127.0.0.1:5353', '::1']);
  assert.deepEqual({ ...c.tls, inboundCiphers: undefined, outboundCiphers: undefined }, { outboundMinVersion: 'TLSv1.3', peerCertFqdn: false, peerCertX509: true, inboundCiphers: undefined, outboundCiphers: undefined });
  assert.equal(c.tls.inboundCiphers, FORWARD_SECRET_CIPHERS, 'forward secrecy by default');
  const bad = await mxgate(home, ['--keep-going', '-c', 'dnsconfig servers dns.example', '-c', 'smtproutes new x.example host:99999']);
  assert.match(bad.stdout, /must be an IP address/);
  assert.match(bad.stdout, /the port must be 1-65535/);
});

test('smtproutes has a dialog like the other menus: NEW, EDIT, DELETE, PRINT', async () => {
  const n = (await committed()).smtpRoutes.length;
  const lines = ['smtproutes', 'new', '.dialog.example', '127.0.0.1:2600, mx.dialog.example', 'edit', String(n + 1), '127.0.0.3', 'print', 'new', 'gone.example', '127.0.0.4', 'delete', String(n + 2), 'y', '', 'smtproutes list', 'commit "routes by dialog"', ''];
  const r = await mxgate(home, [], lines.join('\n'));
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Enter the domain for which you want to set up a permanent route\.\nPartial hostnames such as "\.example\.com" are allowed\./);
  assert.match(r.stdout, /Mail for \.dialog\.example will go to 127\.0\.0\.1:2600, mx\.dialog\.example:25 after "commit"\./);
  assert.match(r.stdout, /SMTP route for \.dialog\.example changed\./);
  assert.match(r.stdout, /SMTP route for gone\.example deleted\./);
  const routes = (await committed()).smtpRoutes.map((x: { domain: string; hosts: { host: string; port: number }[] }) => `${x.domain} ${x.hosts.map((h) => `${h.host}:${h.port}`).join(',')}`);
  assert.ok(routes.includes('.dialog.example 127.0.0.3:25'), routes.join('; '));
  assert.ok(!routes.some((x: string) => x.startsWith('gone.example')));
  // On a pipe a bad answer fails the command at its line, and nothing is kept.
  const bad = await mxgate(home, [], ['smtproutes', 'new', 'bad.example', 'host:99999', '', 'commit never', ''].join('\n'));
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /line 4: smtproutes: .*"host:99999": the port must be 1-65535/);
});

test('alertconfig: batch forms, clear errors, and the NEW dialog with numbered classes', async () => {
  const r = await mxgate(home, [
    '--keep-going',
    '-c', 'alertconfig new ops@example.com --classes system,delivery --severities critical,warning',
    '-c', 'alertconfig new not-an-address --classes all',
    '-c', 'alertconfig new x@example.com --classes bogus',
    '-c', 'alertconfig setup --initial-seconds 60 --max-seconds 30',
    '-c', 'alertconfig setup --initial-seconds 60 --max-seconds 600 --keep 20',
  ]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /ops@example\.com\n {8}Class: System, Message Delivery - Severities: Critical, Warning/);
  assert.match(r.stdout, /"not-an-address" is not an email address/);
  assert.match(r.stdout, /--classes must be a comma-separated list of all, system, .*; not bogus/);
  assert.match(r.stdout, /the maximum seconds between repeats cannot be less than the initial seconds/);
  assert.match(r.stdout, /Initial number of seconds to wait before sending a duplicate alert: 60/);
  const d = await mxgate(home, [], ['alertconfig', 'new', 'dialog@example.com', '2,3', '3', '', 'alertconfig list', ''].join('\n'));
  assert.equal(d.code, 0, d.stdout + d.stderr);
  assert.match(d.stdout, /dialog@example\.com\n {8}Class: System, Message Delivery - Severities: Warning/);
});
