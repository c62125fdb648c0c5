import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileRecipientAccess } from '../../src/engine/listener/rcptAccess.js';
import { compileHat, defaultHat, effectivePolicy, findPolicy, type Hat, patternMatches } from '../../src/store/listeners/hat.js';
import { senderPatternProblem as patternProblem } from '../../src/store/grammar.js';
import { formatHat } from '../../src/store/listeners/hatText.js';
import { addListener } from '../../src/store/listeners/listeners.js';
import { addGroupPattern, setHatDefaults, setPolicy } from '../../src/store/listeners/policy.js';
import { defaultConfig } from '../../src/store/schema.js';

/** One client against the HAT as it is now (these tests change it between clients). */
const classify = (hat: Hat, ip: string) => compileHat(hat).classify(ip);
const recipientAllowed = (table: string[], address: string) => compileRecipientAccess(table)(address);

test('sender group patterns: IP, CIDR, partial IPv4, IPv6, host names, ALL', () => {
  const cases: [string, string, string | undefined, boolean][] = [
    ['127.0.0.1', '127.0.0.1', undefined, true],
    ['127.0.0.1', '127.0.0.2', undefined, false],
    ['127.0.0.0/8', '127.9.8.7', undefined, true],
    ['10.0.0.0/8', '127.0.0.1', undefined, false],
    ['127.0.', '127.0.5.6', undefined, true],
    ['127.0.', '127.1.5.6', undefined, false],
    ['::1', '::1', undefined, true],
    ['::1', '127.0.0.1', undefined, false],
    ['fd00::/8', 'fd12::1', undefined, true],
    ['mx.example.com', '192.0.2.1', 'MX.example.com.', true],
    ['.example.com', '192.0.2.1', 'a.b.example.com', true],
    ['.example.com', '192.0.2.1', 'example.com', false],
    ['mx.example.com', '192.0.2.1', undefined, false],
    ['ALL', '203.0.113.9', undefined, true],
  ];
  for (const [pattern, ip, host, expected] of cases) assert.equal(patternMatches(pattern, ip, host), expected, `${pattern} ~ ${ip} ${host ?? ''}`);
  assert.match(patternProblem('300.1.1.1/8')!, /not a valid CIDR/);
  assert.match(patternProblem('bad host!')!, /Invalid IP or IP range or hostname/);
  assert.equal(patternProblem('10.1.'), undefined);
});

test('public defaults: everyone lands in ALL → $ACCEPTED, TLS off; the first matching group wins', () => {
  const hat = defaultHat('public');
  const m = classify(hat, '::ffff:127.0.0.1')!;
  assert.equal(m.group, 'ALL');
  assert.equal(m.policy.name, 'ACCEPTED');
  assert.equal(m.policy.tls, 'off');
  assert.equal(m.policy.maxRecipientsPerMessage, 50);
  hat.senderGroups.find((g) => g.name === 'BLOCKLIST')!.patterns.push('127.0.0.0/8');
  hat.senderGroups.find((g) => g.name === 'ALLOWLIST')!.patterns.push('127.0.0.1');
  assert.equal(classify(hat, '127.0.0.1')!.policy.name, 'TRUSTED', 'ALLOWLIST is above BLOCKLIST');
  assert.equal(classify(hat, '127.0.0.2')!.policy.action, 'reject');
});

test('private defaults: only RELAYLIST relays, everyone else is blocked', () => {
  const hat = defaultHat('private');
  assert.equal(classify(hat, '127.0.0.1')!.policy.action, 'reject');
  hat.senderGroups[0]!.patterns.push('127.0.0.1');
  assert.equal(classify(hat, '127.0.0.1')!.policy.action, 'relay');
});

test('policies take unset parameters from the defaults; DEFAULT --tls required reaches every policy', () => {
  let c = addListener(defaultConfig(), { name: 'In', type: 'public', interface: 'Management', port: 25 });
  c = setHatDefaults(c, 'In', { tls: 'required' });
  const hat = c.listeners[0]!.hat;
  for (const p of hat.policies) assert.equal(effectivePolicy(hat, p).tls, 'required', p.name);
  c = setPolicy(c, 'In', '$TRUSTED', { tls: 'preferred' });
  assert.equal(effectivePolicy(c.listeners[0]!.hat, findPolicy(c.listeners[0]!.hat, 'TRUSTED')!).tls, 'preferred');
  assert.equal(effectivePolicy(c.listeners[0]!.hat, findPolicy(c.listeners[0]!.hat, 'THROTTLED')!).maxRecipientsPerMessage, 25);
  assert.throws(() => setPolicy(c, 'In', 'NOPE', { tls: 'off' }), /no policy \$NOPE; give --action/);
  c = addGroupPattern(c, 'In', 'PARTNERS', '192.0.2.0/24', 'TRUSTED');
  assert.deepEqual(c.listeners[0]!.hat.senderGroups.map((g) => g.name), ['ALLOWLIST', 'BLOCKLIST', 'SUSPECTLIST', 'UNKNOWNLIST', 'PARTNERS', 'ALL']);
  assert.throws(() => addGroupPattern(c, 'In', 'X', '10.0.0.0/8', 'MISSING'), /uses policy \$MISSING, which does not exist/);
});

test('the HAT prints in the appliance text format', () => {
  const lines = formatHat(defaultHat('public'));
  const text = lines.join('\n');
  assert.match(text, /^\$ACCEPTED\n {4}ACCEPT$/m);
  assert.match(text, /^\$THROTTLED\n {4}ACCEPT \{\n {8}max_msgs_per_session = 10\n/m);
  assert.match(text, /^\$BLOCKED\n {4}REJECT$/m);
  assert.match(text, /^ALLOWLIST:\n {8}\$TRUSTED \(My trusted senders have no rate limiting\)$/m);
  assert.match(text, /^ {4}tls = "off"$/m);
  assert.match(text, /^ {4}requiretls = true$/m, 'REQUIRETLS is offered after STARTTLS unless a policy says otherwise');
});

test('recipient access table: exact domains, .subdomains, ALL; empty refuses everything', () => {
  assert.equal(recipientAllowed([], 'a@example.com'), false);
  assert.equal(recipientAllowed(['example.com'], 'a@EXAMPLE.com'), true);
  assert.equal(recipientAllowed(['example.com'], 'a@sub.example.com'), false);
  assert.equal(recipientAllowed(['.example.com'], 'a@sub.example.com'), true);
  assert.equal(recipientAllowed(['.example.com'], 'a@badexample.com'), false);
  assert.equal(recipientAllowed(['ALL'], 'a@anything.test'), true);
  assert.equal(recipientAllowed(['example.com'], 'postmaster'), false);
});

test('HAT text: what PRINT writes, IMPORT reads back; errors name the line', async () => {
  const { parseHat } = await import('../../src/store/listeners/hatText.js');
  for (const type of ['public', 'private'] as const) {
    const hat = defaultHat(type);
    hat.defaults.tls = 'required';
    hat.policies[0]!.requireTls = false;
    hat.senderGroups[0]!.patterns.push('127.0.0.0/8', '.example.com');
    assert.deepEqual(parseHat(formatHat(hat).join('\n')), hat);
  }
  assert.throws(() => parseHat('$X\n    ACCEPT {\n        colour = "red"\n    }\n'), /Line 3: unknown parameter colour/);
  assert.throws(() => parseHat('G:\n    10.0.0.0/8\n        $MISSING\n'), /uses policy \$MISSING, which does not exist/);
  assert.throws(() => parseHat('$X\n    ACCEPT {\n        tls = "sometimes"\n    }\n'), /not valid/);
  assert.throws(() => parseHat('$X\n    ACCEPT {\n        requiretls = "maybe"\n    }\n'), /not valid/);
});
