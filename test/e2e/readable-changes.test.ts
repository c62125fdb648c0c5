import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cleanup, freePort, mxgate, shellOk, tempHome } from '../helpers.js';

/**
 * showchanges and showconfig read as an administrator reads them: one line per change, grouped by
 * the command that makes it, in the order commit puts them in service; --raw keeps the document's form.
 */
let home: string;
let port: number;

before(async () => {
  home = await tempHome();
  port = await freePort();
  await shellOk(home, `listenerconfig new InboundMail --type public --interface Management --port ${port}`, 'commit "listener"');
});
after(() => cleanup(home));

test('showchanges lists a new certificate, the listener that takes it and a destination, in commit order, each in words', async () => {
  const out = await shellOk(
    home,
    'destconfig new partner.example --tls required-verify --dane opportunistic',
    'certconfig new mx1 --cn mx1.example.com --country JP --key ecdsa-p256',
    'listenerconfig edit InboundMail certificate mx1',
    'listenerconfig edit InboundMail rcptaccess add example.com',
    'showchanges',
    'showchanges --raw',
    'commit "mx1"',
    'certconfig print mx1',
  );
  const fingerprint = /SHA-256 Fingerprint: ([0-9A-F:]{95})/i.exec(out)?.[1];
  assert.ok(fingerprint, out);
  const pending = new RegExp(
    [
      '4 pending changes against version \\d+, in the order commit puts them in service:',
      'certconfig:',
      `  certificate mx1 added: CN mx1\\.example\\.com, self-signed, SHA-256 fingerprint ${fingerprint}, expires \\d{4}-\\d\\d-\\d\\d, signing request pending`,
      'listenerconfig:',
      '  listener InboundMail: certificate Demo \\(demonstration certificate\\) → mx1',
      '  listener InboundMail: accepts mail for: added example\\.com',
      'destconfig:',
      '  destination partner\\.example added: TLS Required \\(Verify\\), DANE Opportunistic',
    ].join('\n'),
  );
  assert.match(out, pending);
  assert.match(out, /Pending changes against version \d+:\n[\s\S]*~ listeners\.InboundMail\.certificate: null -> mx1\n/, 'the raw form is still there');
  assert.doesNotMatch(out.slice(0, out.indexOf('Pending changes against')), /BEGIN CERTIFICATE|[0-9a-f]{64}/, 'no PEM and no key reference in the readable form');
});

test('replacing a certificate in use says which certificate replaces which, and that the key changes', async () => {
  const before = await shellOk(home, 'certconfig print mx1');
  const was = /SHA-256 Fingerprint: ([0-9A-F:]{95})/i.exec(before)![1]!;
  const out = await shellOk(home, 'certconfig new mx1 --cn mx1.example.com --country JP --key ecdsa-p256 --days 30 --overwrite', 'showchanges');
  const line = /\n {2}certificate mx1 replaced: CN mx1\.example\.com, self-signed, SHA-256 fingerprint ([0-9A-F:]{95}), expires [\d-]+, new key \(was CN mx1\.example\.com, self-signed, SHA-256 fingerprint ([0-9A-F:]{95}), expires [\d-]+\)\n/.exec(out);
  assert.ok(line, out);
  assert.equal(line[2], was);
  assert.notEqual(line[1], was);
});

test('showconfig prints one line per object and setting; --raw prints the document', async () => {
  const out = await shellOk(home, 'showconfig');
  assert.match(out, new RegExp(`\nlistenerconfig:\n {2}listener InboundMail: Public on Management \\(127\\.0\\.0\\.1\\) port ${port}, TLS No, certificate mx1, accepts mail for example\\.com\n`));
  assert.match(out, /\n {2}destination partner\.example: TLS Required \(Verify\), DANE Opportunistic\n/);
  assert.ok(out.indexOf('\ncertconfig:') < out.indexOf('\nlistenerconfig:') && out.indexOf('\nlistenerconfig:') < out.indexOf('\ndestconfig:'), out);
  assert.doesNotMatch(out, /BEGIN CERTIFICATE|"listeners"/);
  const raw = await mxgate(home, ['-c', 'showconfig --raw']);
  assert.equal(JSON.parse(raw.stdout.slice(raw.stdout.indexOf('{'))).listeners[0].certificate, 'mx1');
  const bad = await mxgate(home, ['-c', 'showchanges --json']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /Unknown option '--json'[\s\S]*Usage: showchanges \[--raw\]/);
});
