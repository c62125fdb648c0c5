import assert from 'node:assert/strict';
import { test } from 'node:test';
import { certInfo } from '../../src/pki/certificate.js';
import { createSelfSigned } from '../../src/pki/generate.js';
import { changeCount, describeChanges, sectionLines } from '../../src/store/describe/changes.js';
import { describeConfig } from '../../src/store/describe/settings.js';
import { putDestination, setDestinationDefaults } from '../../src/store/destinations/edits.js';
import { addListener } from '../../src/store/listeners/listeners.js';
import { defaultConfig, type CertificateProfile, type Config } from '../../src/store/schema.js';

const profile = async (name: string, cn: string, keyRef: string): Promise<CertificateProfile> => ({
  name,
  certificate: (await createSelfSigned({ commonName: cn, country: 'JP' }, 30, 'ecdsa-p256')).certificatePem,
  intermediates: [],
  keyRef,
  csr: null,
  demo: false,
});

test('changes read as the administrator made them, grouped by command in the order commit puts them in service', async () => {
  const base = addListener({ ...defaultConfig(), certificates: [await profile('mx1', 'mx1.example.com', 'a'.repeat(64))] }, { name: 'InboundMail', type: 'public', interface: 'Management', port: 25 });
  let draft: Config = putDestination(base, { domain: 'partner.example', tls: 'required-verify', dane: 'opportunistic' }, { create: true });
  draft = setDestinationDefaults(draft, { tls: 'preferred' });
  draft = { ...draft, listeners: draft.listeners.map((l) => ({ ...l, certificate: 'mx1', rcptAccess: ['example.com'] })) };
  const replacement = await profile('mx1', 'mx1.example.com', 'b'.repeat(64));
  draft = { ...draft, certificates: [replacement] };

  const sections = describeChanges(base, draft);
  assert.deepEqual(sections.map((s) => s.command), ['certconfig', 'listenerconfig', 'destconfig']);
  const [certs, listeners, destinations] = sections.map((s) => s.lines);
  const fp = certInfo(replacement.certificate).fingerprint256;
  assert.equal(certs!.length, 1, 'certificate, key and CSR are one replacement');
  assert.ok(certs![0]!.startsWith(`certificate mx1 replaced: CN mx1.example.com, self-signed, SHA-256 fingerprint ${fp}, expires `), certs![0]);
  assert.match(certs![0]!, /, new key \(was CN mx1\.example\.com, /);
  assert.deepEqual(listeners, ['listener InboundMail: certificate none → mx1', 'listener InboundMail: accepts mail for: added example.com']);
  assert.deepEqual(destinations, ['default destination: TLS No → Preferred', 'destination partner.example added: TLS Required (Verify), DANE Opportunistic']);
  assert.equal(changeCount(sections), 5);
  assert.doesNotMatch(sectionLines(sections).join('\n'), /BEGIN|a{64}|b{64}/, 'no PEM and no key references');
});

test('an added destination and an edited one are two changes, each by its domain', () => {
  const base = putDestination(defaultConfig(), { domain: 'other.example', tls: 'required' }, { create: true });
  const draft = putDestination(putDestination(base, { domain: 'partner.example', tls: 'preferred' }, { create: true }), { domain: 'other.example', tls: 'required', dane: 'mandatory' }, { create: false });
  const sections = describeChanges(base, draft);
  assert.equal(changeCount(sections), 2);
  assert.deepEqual(sections[0]!.lines, ['destination other.example: DANE Default → Mandatory', 'destination partner.example added: TLS Preferred']);
  const removed = describeChanges(draft, base);
  assert.deepEqual(removed[0]!.lines, ['destination other.example: DANE Mandatory → Default', 'destination partner.example deleted (the default entry applies)']);
});

test('interfaces, accounts and CA lists: services on and off, a password never shown, CAs by name', async () => {
  const ca = await createSelfSigned({ commonName: 'Example Root', country: 'JP' }, 30, 'ecdsa-p256');
  const base: Config = { ...defaultConfig(), users: [{ name: 'alice', role: 'operator', passwordHash: 'scrypt$15$8$1$c2FsdA$aGFzaA' }] };
  const draft: Config = {
    ...base,
    interfaces: base.interfaces.map((i) => ({ ...i, https: { port: 8443, certificate: null, httpRedirect: null }, ssh: { port: 2222 } })),
    users: [{ name: 'alice', role: 'administrator', passwordHash: 'scrypt$15$8$1$c2FsdA$b3RoZXI' }],
    certificateAuthorities: { ...base.certificateAuthorities, custom: { enabled: true, certificates: [ca.certificatePem] } },
  };
  const text = sectionLines(describeChanges(base, draft)).join('\n');
  assert.match(text, /certconfig:\n {2}custom CA list enabled\n {2}custom CA list: added CN Example Root, self-signed, SHA-256 [0-9A-F:]{23}…/);
  assert.match(text, /interfaceconfig:\n {2}interface Management: HTTPS off → on port 8443 with none\n {2}interface Management: SSH off → on port 2222/);
  assert.match(text, /userconfig:\n {2}account alice: role operator → administrator\n {2}account alice: password changed/);
  assert.doesNotMatch(text, /scrypt/);
});

test('showconfig reads one line per object and setting, with no PEM and no secret', async () => {
  const config = addListener({ ...defaultConfig(), certificates: [await profile('mx1', 'mx1.example.com', 'c'.repeat(64))] }, { name: 'In', type: 'public', interface: 'Management', port: 2525 });
  const text = sectionLines(describeConfig(config)).join('\n');
  assert.match(text, /^certconfig:\n {2}certificate mx1: CN mx1\.example\.com, self-signed, SHA-256 fingerprint /);
  assert.match(text, /\nlistenerconfig:\n {2}listener In: Public on Management \(127\.0\.0\.1\) port 2525, TLS No, certificate none, accepts mail for no domain\n/);
  assert.match(text, /\ndestconfig:\n {2}certificate for outbound TLS: none\n/);
  assert.match(text, /\n {2}default destination: TLS No, DANE None, MTA-STS No, /);
  assert.doesNotMatch(text, /BEGIN|c{64}/);
});
