import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { applianceWithListener, cleanup, freePort, mxgate, tempHome } from '../helpers.js';

let home: string;
before(async () => {
  ({ home } = await applianceWithListener());
});
after(() => cleanup(home));

test('saveconfig writes an owner-only file to the configuration directory; loadconfig restores it', async () => {
  await writeFile(path.join(home, 'configuration', 'pw.txt'), 'Tr0ub4dor&3\n');
  await writeFile(path.join(home, 'configuration', 'wrong.txt'), 'guess\n');
  const save = await mxgate(home, ['-c', 'saveconfig backup.json --encrypt --passphrase-file pw.txt']);
  assert.equal(save.code, 0, save.stdout + save.stderr);
  assert.match(save.stdout, /The file backup\.json has been saved in the configuration directory\./);
  const file = path.join(home, 'configuration', 'backup.json');
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.equal(JSON.parse(await readFile(file, 'utf8')).config.listeners[0].name, 'InboundMail');

  const remove = await mxgate(home, ['-c', 'listenerconfig delete InboundMail', '-c', 'commit "removed"']);
  assert.equal(remove.code, 0, remove.stdout);

  const wrong = await mxgate(home, ['-c', 'loadconfig backup.json --passphrase-file wrong.txt']);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stdout, /passphrase is not the one this file was saved with\. Nothing was loaded\./);

  const load = await mxgate(home, ['-c', 'loadconfig backup.json --passphrase-file pw.txt', '-c', 'showchanges', '-c', 'commit "restored"']);
  assert.equal(load.code, 0, load.stdout + load.stderr);
  assert.match(load.stdout, /Values have been loaded/);
  assert.match(load.stdout, /listener InboundMail added: Public on/);
  const current = JSON.parse(await readFile(path.join(home, 'config', 'current.json'), 'utf8'));
  assert.equal(current.comment, 'restored');
  assert.deepEqual(current.config.listeners.map((l: { name: string }) => l.name), ['InboundMail']);
});

test('loadconfig: missing file, foreign file and pending changes are clear errors', async () => {
  await writeFile(path.join(home, 'configuration', 'foreign.json'), '{"hello":1}');
  const run = await mxgate(home, [
    '--keep-going',
    '-c', 'loadconfig nothere.json',
    '-c', 'loadconfig foreign.json',
    '-c', 'interfaceconfig new Loop9 --ip 127.0.0.9',
    '-c', 'loadconfig backup.json --passphrase-file pw.txt',
  ]);
  assert.equal(run.code, 1);
  assert.match(run.stdout, /: The file ".*nothere\.json" does not exist\./);
  assert.match(run.stdout, /not a configuration file saved by mxgate/);
  assert.match(run.stdout, /There are uncommitted changes\. Commit them or run "clearchanges" first\./);
});

test('showconfig --raw prints the committed configuration as JSON', async () => {
  const run = await mxgate(home, ['-c', 'showconfig --raw']);
  assert.equal(run.code, 0);
  assert.match(run.stdout, /Configuration version: \d+/);
  const json = JSON.parse(run.stdout.slice(run.stdout.indexOf('{')));
  assert.equal(json.interfaces[0].name, 'Management');
});

test('an encrypted saved configuration restores certificates and their keys on a new appliance', async () => {
  const made = await mxgate(home, ['-c', 'certconfig new mx9 --cn mx9.example.com --country JP --key ecdsa-p256', '-c', 'commit', '-c', 'saveconfig full.json --encrypt --passphrase-file pw.txt']);
  assert.equal(made.code, 0, made.stdout + made.stderr);
  const text = await readFile(path.join(home, 'configuration', 'full.json'), 'utf8');
  assert.doesNotMatch(text, /PRIVATE KEY/);
  const masked = await mxgate(home, ['-c', 'saveconfig masked.json --mask', '-c', 'loadconfig masked.json']);
  assert.match(masked.stdout, /saved with masked passphrases and cannot be loaded/);

  const fresh = await tempHome();
  try {
    const { copyFile, mkdir } = await import('node:fs/promises');
    await mkdir(path.join(fresh, 'configuration'), { recursive: true });
    await copyFile(path.join(home, 'configuration', 'full.json'), path.join(fresh, 'configuration', 'full.json'));
    await copyFile(path.join(home, 'configuration', 'pw.txt'), path.join(fresh, 'configuration', 'pw.txt'));
    // The first appliance still holds the listener's port: the copy listens elsewhere.
    const load = await mxgate(fresh, [
      '-c', 'loadconfig full.json --passphrase-file pw.txt',
      '-c', `listenerconfig edit InboundMail --port ${await freePort()}`,
      '-c', 'commit restored',
      '-c', 'certconfig print',
    ]);
    assert.equal(load.code, 0, load.stdout + load.stderr);
    assert.match(load.stdout, /^mx9 +mx9\.example\.com/m);
    const current = JSON.parse(await readFile(path.join(fresh, 'config', 'current.json'), 'utf8'));
    const mx9 = current.config.certificates.find((c: { name: string }) => c.name === 'mx9');
    assert.equal((await stat(path.join(fresh, 'keys', `${mx9.keyRef}.pem`))).mode & 0o777, 0o600);
  } finally {
    await cleanup(fresh);
  }
});
