import assert from 'node:assert/strict';
import { access, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { applianceWithListener, cleanup, mxgate, shellOk, GUIDE_DESTINATION_DEFAULTS } from '../helpers.js';

/** File names stay where the administrator expects, and errors never show a file's content. */
let home: string;
before(async () => {
  ({ home } = await applianceWithListener());
  await shellOk(home, GUIDE_DESTINATION_DEFAULTS, 'commit "the guide\'s factory defaults"');
});
after(() => cleanup(home));

test('a relative file name with a separator or ".." is refused; nothing is written outside configuration/', async () => {
  for (const line of ['destconfig export --file ../../escaped.txt', 'saveconfig ../escaped.json', 'certconfig certauthority system export --file sub/dir.pem']) {
    const r = await mxgate(home, ['-c', line]);
    assert.equal(r.code, 1, line);
    assert.match(r.stdout + r.stderr, /is not a file name: give a bare name \(a file in .*configuration\)\./, line);
  }
  await assert.rejects(access(path.join(home, '..', 'escaped.txt')));
  await assert.rejects(access(path.join(home, 'escaped.json')));
  assert.match(await shellOk(home, 'destconfig export --file dest.txt'), /exported to .*configuration\/dest\.txt/);
});

test('absolute paths only where the help says so (the system CA bundle); loadconfig never echoes a file\'s content', async () => {
  const secret = path.join(home, 'secret.txt');
  await writeFile(secret, 'root:$6$verysecrethash:19000:0:99999:7:::\n');
  for (const line of [`loadconfig ${secret}`, `destconfig export --file ${path.join(home, 'out.txt')}`, `certconfig certauthority custom import --file ${secret}`]) {
    const r = await mxgate(home, ['-c', line]);
    assert.equal(r.code, 1, line);
    assert.match(r.stderr, /is not a file name: give a bare name/, line);
  }
  await assert.rejects(access(path.join(home, 'out.txt')));
  await writeFile(path.join(home, 'configuration', 'secret.txt'), 'root:$6$verysecrethash:19000:0:99999:7:::\n');
  const r = await mxgate(home, ['-c', 'loadconfig secret.txt']);
  assert.equal(r.code, 1);
  assert.match(r.stdout + r.stderr, /not a configuration file saved by mxgate/);
  assert.doesNotMatch(r.stdout + r.stderr, /verysecrethash|root:/);
  // The system CA bundle may come from the operating system's path, as its help says.
  const bundle = path.join(home, 'bundle.pem');
  await writeFile(bundle, (await import('node:tls')).rootCertificates.slice(0, 3).join('\n') + '\n');
  assert.match(await shellOk(home, `certconfig certauthority system update --file ${bundle}`, 'clearchanges'), /System list: 3 CA certificates/);
});

test('destconfig EDIT: answering "no" to a setting returns it to the default entry\'s value', async () => {
  await shellOk(home, 'destconfig new edit.example --tls required --max-concurrency 7', 'commit "entry"');
  const answers = ['destconfig', 'edit', 'edit.example', 'N', 'N', 'N', 'N', 'N', 'N', 'N', '', 'destconfig detail edit.example', ''];
  const r = await mxgate(home, [], answers.join('\n'));
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /edit\.example:\n {4}TLS: No \(Default\)\n/);
  assert.match(r.stdout, /Maximum concurrency: 500 \(Default\)/);
});
