import assert from 'node:assert/strict';
import { copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { cleanup, mxgate, tempHome } from '../helpers.js';

// A secret made for this test only (32 random bytes, base64).
const SECRET = 'G7opXSsPUaMfGqj15R/G9+GFucubVY6VG3xirH25P6o=';

let home: string;
const file = (name: string, text: string) => writeFile(path.join(home, 'configuration', name), text);
const tsigFiles = async (h: string) => (await readdir(path.join(h, 'keys')).catch(() => [] as string[])).filter((f) => f.startsWith('tsig-'));

before(async () => {
  home = await tempHome();
  await mkdir(path.join(home, 'configuration'), { recursive: true });
  await file('knot.key', `# hmac-sha256:mx-update:${SECRET}\nkey:\n  - id: mx-update\n    algorithm: hmac-sha256\n    secret: ${SECRET}\n`);
  await file('bind.key', `key "bind-update" {\n\talgorithm hmac-sha256;\n\tsecret "${SECRET}";\n};\n`);
  await file('md5.key', `key "old" {\n\talgorithm hmac-md5;\n\tsecret "${SECRET}";\n};\n`);
  await file('short.key', 'hmac-sha256:short:c2hvcnQ=\n');
  await file('junk.key', 'this is not a key\n');
  await file('pw.txt', 'Tr0ub4dor&3\n');
});
after(() => cleanup(home));

test('dnsconfig update-server keeps the TSIG key with the private keys (0600), never in the configuration, and a saved configuration carries it encrypted', async () => {
  const run = await mxgate(home, [
    '-c', 'dnsconfig update-server example.com 127.0.0.1:5353 --tsig-key-file knot.key',
    '-c', 'dnsconfig update-server Example.NET. ::1 --tsig-key-file bind.key',
    '-c', 'commit "update servers"',
    '-c', 'dnsconfig',
    '-c', 'showconfig',
    '-c', 'saveconfig backup.json --encrypt --passphrase-file pw.txt',
  ]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /Update server for example\.com: 127\.0\.0\.1:5353, TSIG key mx-update/);
  assert.match(run.stdout, /Update server for example\.net: \[::1\]:53, TSIG key bind-update/);
  assert.doesNotMatch(run.stdout, new RegExp(SECRET.slice(0, 12)));
  const current = await readFile(path.join(home, 'config', 'current.json'), 'utf8');
  assert.doesNotMatch(current, new RegExp(SECRET.slice(0, 12)));
  assert.doesNotMatch(await readFile(path.join(home, 'configuration', 'backup.json'), 'utf8'), new RegExp(SECRET.slice(0, 12)));
  // Both files hold the same secret under different names: two keys.
  const keys = await tsigFiles(home);
  assert.equal(keys.length, 2);
  for (const k of keys) assert.equal((await stat(path.join(home, 'keys', k))).mode & 0o777, 0o600);

  const fresh = await tempHome();
  try {
    await mkdir(path.join(fresh, 'configuration'), { recursive: true });
    for (const f of ['backup.json', 'pw.txt']) await copyFile(path.join(home, 'configuration', f), path.join(fresh, 'configuration', f));
    const load = await mxgate(fresh, ['-c', 'loadconfig backup.json --passphrase-file pw.txt', '-c', 'commit restored', '-c', 'dnsconfig']);
    assert.equal(load.code, 0, load.stdout + load.stderr);
    assert.match(load.stdout, /Update server for example\.com: 127\.0\.0\.1:5353, TSIG key mx-update/);
    assert.deepEqual((await tsigFiles(fresh)).sort(), keys.sort());
  } finally {
    await cleanup(fresh);
  }

  const removed = await mxgate(home, ['-c', 'dnsconfig update-server delete example.net', '-c', 'commit', '-c', 'dnsconfig']);
  assert.equal(removed.code, 0, removed.stdout + removed.stderr);
  assert.doesNotMatch(removed.stdout, /Update server for example\.net/);
});

test('dnsconfig update-server: a key of another algorithm, a short or unreadable key, a host name and a missing key are clear errors that store nothing', async () => {
  const before = await tsigFiles(home);
  const run = await mxgate(home, [
    '--keep-going',
    '-c', 'dnsconfig update-server example.org 127.0.0.1 --tsig-key-file md5.key',
    '-c', 'dnsconfig update-server example.org 127.0.0.1 --tsig-key-file short.key',
    '-c', 'dnsconfig update-server example.org 127.0.0.1 --tsig-key-file junk.key',
    '-c', 'dnsconfig update-server example.org ns1.example.org --tsig-key-file bind.key',
    '-c', 'dnsconfig update-server example.org 127.0.0.1',
    '-c', 'dnsconfig update-server delete example.org',
  ]);
  assert.equal(run.code, 1);
  assert.match(run.stdout, /The TSIG key "old" uses hmac-md5; only hmac-sha256 is supported/);
  assert.match(run.stdout, /The secret of TSIG key "short" is 5 bytes; it must be at least 16/);
  assert.match(run.stdout, /The TSIG key file is not in a known form/);
  assert.match(run.stdout, /must be an IP address \(with an optional :PORT\)/);
  assert.match(run.stdout, /Give the TSIG key that signs the updates: --tsig-key-file FILE/);
  assert.match(run.stdout, /There is no update server for zone example\.org\./);
  assert.doesNotMatch(run.stdout, /at .*\.js:\d+/); // no stack trace
  assert.deepEqual(await tsigFiles(home), before);
});
