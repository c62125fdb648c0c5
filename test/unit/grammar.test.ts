import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countProblem, domainProblem, emailProblem, hostnameProblem, isHostname, LIMITS, portProblem, senderPatternProblem } from '../../src/store/grammar.js';
import { patternMatches } from '../../src/store/listeners/hat.js';
import { diffConfig } from '../../src/store/diff.js';
import { certInfo } from '../../src/pki/certificate.js';
import { createSelfSigned } from '../../src/pki/generate.js';

test('host names: LDH labels of at most 63, 253 in all, and not all-numeric at the end', () => {
  for (const good of ['mx1.example.com', 'localhost', 'a-b.example.', 'xn--bcher-kva.example']) assert.equal(hostnameProblem(good), undefined, good);
  for (const bad of ['not_a_host!', '-lead.example', 'trail-.example', 'a..b', `${'a'.repeat(64)}.example`, `${'a.'.repeat(127)}com`, '300.1.1.1', '999.1.1.1']) {
    assert.notEqual(hostnameProblem(bad), undefined, bad);
  }
  assert.equal(isHostname('192.0.2.1'), false, 'an address is not a host name');
  assert.match(domainProblem('192.0.2.1')!, /IP address, not a domain/);
  assert.equal(domainProblem('.partner.example'), undefined);
  assert.notEqual(domainProblem('.partner.example', { subdomains: false }), undefined);
});

test('internationalized names: refused with their A-label, wherever a host name, domain or address is typed', () => {
  assert.equal(hostnameProblem('bücher.example'), '"bücher.example" is an internationalized name: give its A-label "xn--bcher-kva.example" (shown as bücher.example).');
  assert.match(domainProblem('.bücher.example')!, /internationalized name: give its A-label "xn--bcher-kva\.example"/);
  assert.match(emailProblem('user@bücher.example') ?? '', /xn--bcher-kva\.example/);
  assert.match(hostnameProblem('mail.\u202e.example')!, /use letters, digits/);
});

test('sender group entries: addresses, CIDR, partial IPv4 and last-octet ranges with real numbers; names', () => {
  for (const good of ['ALL', '10.0.0.1', '2001:db8::1', '10.0.0.0/8', '2001:db8::/32', '10.1.', '10.1.1.1-50', 'mail.example', '.example']) {
    assert.equal(senderPatternProblem(good), undefined, good);
  }
  for (const bad of ['300.1.1.1', '999.1.1.1', '10.0.0.0/33', '10.300.', '10.1.1.50-10', '10.1.1.1-256', 'bad name', '1.2.3']) {
    assert.notEqual(senderPatternProblem(bad), undefined, bad);
  }
  assert.equal(patternMatches('10.1.1.1-50', '10.1.1.50'), true);
  assert.equal(patternMatches('10.1.1.1-50', '10.1.1.51'), false);
  assert.equal(patternMatches('10.1.1.1-50', '10.1.10.5'), false);
});

test('ports, e-mail addresses and counts', () => {
  assert.equal(portProblem('25'), undefined);
  for (const bad of ['0', '65536', '-1', '25x', '']) assert.notEqual(portProblem(bad), undefined, bad);
  assert.equal(emailProblem('ops@example.com'), undefined);
  for (const bad of ['ops', 'ops@', '@example.com', 'a b@example.com', 'ops@bad_domain.example', 'ops@localhost']) assert.notEqual(emailProblem(bad), undefined, bad);
  assert.equal(countProblem('2147483647', 'size', LIMITS.maxMessageSize), undefined);
  assert.match(countProblem('99999999999', '--max-message-size', LIMITS.maxMessageSize)!, /from 1 to 2147483647, not "99999999999"/);
  assert.notEqual(countProblem('1e3', 'n', LIMITS.count), undefined);
});

test('a change of order in a named list is a change (HAT sender groups are checked in order)', () => {
  const a = { groups: [{ name: 'A' }, { name: 'B' }, { name: 'ALL' }] };
  const b = { groups: [{ name: 'B' }, { name: 'A' }, { name: 'ALL' }] };
  const changes = diffConfig(a, b);
  assert.deepEqual(changes, [{ kind: 'changed', path: 'groups.(order)', steps: ['groups', '(order)'], before: 'A, B, ALL', after: 'B, A, ALL' }]);
  assert.deepEqual(diffConfig(a, { groups: [{ name: 'A' }, { name: 'ALL' }] }), [{ kind: 'removed', path: 'groups.B', steps: ['groups', { entry: 'B' }], before: { name: 'B' } }], 'a removal is not also an order change');
});

test('a certificate made for 365 days shows 365 days remaining', async () => {
  const made = await createSelfSigned({ commonName: 'days.example', country: 'JP' }, 365, 'ecdsa-p256');
  assert.equal(certInfo(made.certificatePem).daysRemaining, 365);
});
