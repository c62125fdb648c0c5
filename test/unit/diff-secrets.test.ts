import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diffConfig, formatChanges } from '../../src/store/diff.js';
import { addListener } from '../../src/store/listeners/listeners.js';
import { loadSavedConfig, saveConfig } from '../../src/store/savedConfig.js';
import { defaultConfig } from '../../src/store/schema.js';
import { containsMaskedSecret, MASK, maskSecrets, SecretBox } from '../../src/store/secrets.js';

test('showchanges diff matches named objects by name', () => {
  const a = addListener(defaultConfig(), { name: 'In', type: 'public', interface: 'Management', port: 25 });
  const b = addListener({ ...a, listeners: a.listeners.map((l) => ({ ...l, port: 2525 })) }, { name: 'Out', type: 'private', interface: 'Management', port: 26 });
  const lines = formatChanges(diffConfig(a, b));
  assert.equal(lines.length, 2);
  assert.equal(lines[0], '~ listeners.In.port: 25 -> 2525');
  assert.ok(lines[1]!.startsWith('+ listeners.Out: {"name":"Out","type":"private","interface":"Management","port":26,"certificate":null,"hat":'), lines[1]);
  assert.deepEqual(diffConfig(b, b), []);
});

test('secret fields are masked wherever they appear', () => {
  const doc = { a: { privateKey: 'KEY', name: 'x' }, list: [{ passphrase: 'pw' }], password: 'p' };
  assert.deepEqual(maskSecrets(doc), { a: { privateKey: MASK, name: 'x' }, list: [{ passphrase: MASK }], password: MASK });
  assert.equal(containsMaskedSecret(maskSecrets(doc)), true);
  assert.equal(containsMaskedSecret(doc), false);
});

test('secret box: round trip, and a wrong passphrase or altered value fails', () => {
  const box = SecretBox.create('correct horse');
  const enc = box.encrypt('-----BEGIN PRIVATE KEY-----');
  assert.notEqual(enc, '-----BEGIN PRIVATE KEY-----');
  assert.equal(SecretBox.open('correct horse', box.salt).decrypt(enc), '-----BEGIN PRIVATE KEY-----');
  assert.throws(() => SecretBox.open('wrong', box.salt).decrypt(enc));
  const tampered = enc.slice(0, -4) + (enc.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  assert.throws(() => box.decrypt(tampered));
});

test('a saved configuration loads back with the right passphrase only', async () => {
  const config = addListener(defaultConfig(), { name: 'In', type: 'public', interface: 'Management', port: 25 });
  const text = saveConfig(config, 7, 's3cret');
  assert.equal(JSON.parse(text).secrets, 'encrypted');
  assert.deepEqual((await loadSavedConfig(text, async () => 's3cret')).config, config);
  await assert.rejects(loadSavedConfig(text, async () => 'nope'), /passphrase is not the one/);
  await assert.rejects(loadSavedConfig('{"format":"other"}', async () => ''), /not a configuration file saved by mxgate/);
  await assert.rejects(loadSavedConfig('not json', async () => ''), /Parsing failed/);
});

test('private keys travel encrypted in a saved file and come back with the passphrase', async () => {
  const files = { keys: [{ ref: 'f'.repeat(64), privateKey: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' }], caBundles: [] };
  const text = saveConfig(defaultConfig(), 1, 'pw', files);
  assert.doesNotMatch(text, /BEGIN PRIVATE KEY/);
  assert.deepEqual((await loadSavedConfig(text, async () => 'pw')).keys, files.keys);
  const masked = saveConfig(defaultConfig(), 1, undefined, files);
  assert.doesNotMatch(masked, /BEGIN PRIVATE KEY/);
  await assert.rejects(loadSavedConfig(masked, async () => ''), /masked passphrases and cannot be loaded/);
});

test('a masked file with secrets in it cannot be loaded', async () => {
  const masked = JSON.stringify({ format: 'mxgate-config', formatVersion: 1, secrets: 'masked', config: { ...defaultConfig(), extra: { password: MASK } } });
  await assert.rejects(loadSavedConfig(masked, async () => ''), /masked passphrases and cannot be loaded/);
});
