import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALERT_CLASSES, CLASS_LABELS, subscribed } from '../../src/store/alerts/alerts.js';
import { defaultConfig, validateConfig } from '../../src/store/schema.js';

test('the alert classes are those mxgate raises: System and Message Delivery (and the appliance\'s DHAP and Release)', () => {
  assert.deepEqual([...ALERT_CLASSES], ['all', 'system', 'delivery', 'dhap', 'release']);
  assert.equal(CLASS_LABELS.delivery, 'Message Delivery');
  for (const gone of ['Hardware', 'Updater', 'Outbreak Filters', 'Anti-Virus', 'Anti-Spam']) assert.ok(!Object.values(CLASS_LABELS).includes(gone), gone);
  assert.ok(subscribed({ email: 'a@example.com', classes: ['delivery'], severities: ['warning'] }, 'delivery', 'warning'));
  assert.ok(!subscribed({ email: 'a@example.com', classes: ['system'], severities: ['all'] }, 'delivery', 'warning'));
});

test('a configuration written by an earlier release with retired classes still reads: those classes are dropped, a recipient left with none goes', () => {
  const old = {
    ...defaultConfig(),
    alerts: {
      ...defaultConfig().alerts,
      recipients: [
        { email: 'spam@example.com', classes: ['antispam', 'antivirus'], severities: ['all'] },
        { email: 'ops@example.com', classes: ['system', 'hardware', 'updater'], severities: ['warning'] },
      ],
    },
  };
  const read = validateConfig(old);
  assert.deepEqual(read.alerts.recipients, [{ email: 'ops@example.com', classes: ['system'], severities: ['warning'] }]);
  assert.throws(() => validateConfig({ ...old, alerts: { ...old.alerts, recipients: [{ email: 'x@example.com', classes: ['bogus'], severities: ['all'] }] } }), /classes #1: must be one of all, system, delivery, dhap, release/, 'an unknown class is still an error');
});
