import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addBounceProfile, deleteBounceProfile, editBounceProfile } from '../../src/store/bounces/edits.js';
import { bounceProfile } from '../../src/store/bounces/profiles.js';
import { putDestination } from '../../src/store/destinations/edits.js';
import { parseDestinations, formatDestinations } from '../../src/store/destinations/text.js';
import { buildBounce } from '../../src/engine/delivery/dsn.js';
import { local, STATUS } from '../../src/engine/delivery/outcome.js';
import { ConfigError, defaultConfig, validateConfig } from '../../src/store/schema.js';

test('a configuration written with inline retry settings reads as bounce profiles, named by the entries that had them', () => {
  const old = {
    delivery: {
      defaults: { tls: 'preferred', bounce: { retryInitialSeconds: 60, retryMaxSeconds: 3600, maxQueueSeconds: 86400 } },
      destinations: [
        { domain: 'slow.example', tls: 'required', bounce: { retryInitialSeconds: 3, retryMaxSeconds: 3, maxQueueSeconds: 600 } },
        { domain: '.slow.example', bounce: { retryInitialSeconds: 3, retryMaxSeconds: 3, maxQueueSeconds: 600 } },
        { domain: 'plain.example', tls: 'no' },
        { domain: 'same-as-default.example', bounce: { retryInitialSeconds: 60, retryMaxSeconds: 3600, maxQueueSeconds: 86400 } },
      ],
    },
  };
  const c = validateConfig(old);
  assert.deepEqual(
    c.bounceProfiles.map((p) => [p.name, p.retryInitialSeconds, p.retryMaxSeconds, p.maxQueueSeconds, p.maxRetries, p.hardBounces]),
    [
      ['Default', 60, 3600, 86400, 100, true],
      ['Bounce_slow.example', 3, 3, 600, 100, true],
    ],
  );
  assert.equal(c.delivery.defaults.bounceProfile, 'Default');
  assert.deepEqual(
    c.delivery.destinations.map((d) => [d.domain, d.bounceProfile]),
    [
      ['slow.example', 'Bounce_slow.example'],
      ['.slow.example', 'Bounce_slow.example'],
      ['plain.example', undefined],
      ['same-as-default.example', 'Default'],
    ],
  );
  assert.equal((c.delivery.destinations[0] as Record<string, unknown>).bounce, undefined, 'the inline settings are gone');
  assert.equal(c.delivery.destinations[0]!.tls, 'required', 'the rest of the entry is kept');
});

test('a new configuration has the profile "Default" with the appliance\'s values, and the default entry names it', () => {
  const c = defaultConfig();
  assert.deepEqual(c.bounceProfiles, [{ name: 'Default', maxRetries: 100, maxQueueSeconds: 259200, retryInitialSeconds: 60, retryMaxSeconds: 3600, hardBounces: true, delayWarnings: null, alternateAddress: null }]);
  assert.equal(c.delivery.defaults.bounceProfile, 'Default');
  // A document that lists other profiles but not "Default" still gets it.
  assert.deepEqual(validateConfig({ bounceProfiles: [{ name: 'Fast', retryInitialSeconds: 5, retryMaxSeconds: 5 }] }).bounceProfiles.map((p) => p.name), ['Default', 'Fast']);
});

test('bounce profile edits: references must resolve, "Default" and profiles in use cannot be deleted, nonsense is refused with the reason', () => {
  let c = addBounceProfile(defaultConfig(), { name: 'Fast', retryInitialSeconds: 5, retryMaxSeconds: 5, maxRetries: 3 });
  assert.equal(bounceProfile(c.bounceProfiles, 'fast').maxRetries, 3, 'names are found whatever their case');
  assert.throws(() => addBounceProfile(c, { name: 'FAST' }), /A bounce profile named "FAST" already exists/);
  assert.throws(() => addBounceProfile(c, { name: 'Slow', retryInitialSeconds: 600, retryMaxSeconds: 60 }), (e: Error) => e instanceof ConfigError && /bounce profile Slow: .*maximum retry interval cannot be less than the initial one/.test(e.message));
  assert.throws(() => addBounceProfile(c, { name: 'Many', maxRetries: 10001 }), /bounce profile Many: max retries must be at most 10000/);
  assert.throws(() => putDestination(c, { domain: 'x.example', bounceProfile: 'Nope' }, { create: true }), /destination x\.example: bounce profile "Nope" does not exist/);
  c = putDestination(c, { domain: 'x.example', bounceProfile: 'Fast' }, { create: true });
  assert.throws(() => deleteBounceProfile(c, 'Fast'), /"Fast" is used by x\.example; choose another profile there first/);
  assert.throws(() => deleteBounceProfile(c, 'default'), /"Default" cannot be deleted/);
  assert.throws(() => deleteBounceProfile(c, 'Other'), /No bounce profile named "Other"\. Known: Default, Fast\./);
  c = editBounceProfile(c, 'Fast', { delayWarnings: { intervalSeconds: 60, maxWarnings: 2 }, alternateAddress: 'postmaster@example.org' });
  assert.deepEqual(bounceProfile(c.bounceProfiles, 'Fast').delayWarnings, { intervalSeconds: 60, maxWarnings: 2 });
  assert.throws(() => editBounceProfile(c, 'Fast', { alternateAddress: 'not an address' }), /bounce profile Fast: alternate address is not an email address/);
  c = putDestination(c, { domain: 'x.example', bounceProfile: 'Default' }, { create: false });
  assert.equal(deleteBounceProfile(c, 'Fast').bounceProfiles.length, 1);
});

test('destconfig files name the bounce profile (bounce_profile); an earlier release\'s inline keys are refused with what to do', () => {
  const c = putDestination(addBounceProfile(defaultConfig(), { name: 'Fast' }), { domain: 'x.example', bounceProfile: 'Fast' }, { create: true });
  const text = formatDestinations(c.delivery.defaults, c.delivery.destinations);
  assert.match(text, /\[DEFAULT\][^[]*bounce_profile = Default/);
  assert.match(text, /\[x\.example\]\nbounce_profile = Fast\n/);
  assert.equal(parseDestinations(text).entries[0]!.bounceProfile, 'Fast');
  assert.throws(() => parseDestinations('[DEFAULT]\ntls = no\nbounce_retry_initial = 60\n'), /\[DEFAULT\] bounce_retry_initial: retry and expiry settings are in bounce profiles now \(bounceconfig\); name one with "bounce_profile = NAME"/);
});

test('a delay warning is a DSN with Action: delayed and the time delivery is tried until; a failure says failed', () => {
  const original = { from: 'a@example.org', to: 'postmaster@example.org', receivedAt: '2026-12-01T10:00:00Z', message: Buffer.from('Subject: hi\r\n\r\nbody\r\n') };
  const failed = [{ address: 'b@example.net', outcome: local('temporary', STATUS.noAnswer, 'connection refused') }];
  const until = new Date('2026-12-04T10:00:00Z');
  const delay = buildBounce('mx.example.org', original, failed, { kind: 'delay', willRetryUntil: until }).toString();
  assert.match(delay, /^To: <postmaster@example\.org>\r$/m);
  assert.match(delay, /^Subject: Delivery Status Notification \(Delay\)\r$/m);
  assert.match(delay, /^Action: delayed\r\nStatus: 4\.4\.1\r\n/m);
  assert.match(delay, /^Will-Retry-Until: Fri, 04 Dec 2026 10:00:00 GMT\r$/m);
  assert.match(delay, /you need not send it again/);
  const failure = buildBounce('mx.example.org', original, failed).toString();
  assert.match(failure, /^Action: failed\r$/m);
  assert.doesNotMatch(failure, /Will-Retry-Until/);
});
