import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { applianceWithListener, cleanup, mxgate } from '../helpers.js';
import { opensslChain } from '../pki-fixtures.js';

/** A provisioning script does what it says or stops: never a half-provisioned commit. */
let home: string;
const versions = async () => (await readdir(path.join(home, 'config', 'history'))).length;
before(async () => {
  ({ home } = await applianceWithListener());
});
after(() => cleanup(home));

const script = ['# provisioning', 'destconfig new a.example --tls preferred', '', 'destconfig new b.example --tls maybe', 'destconfig new c.example --tls required', 'commit "half"'].join('\n') + '\n';

test('a script stops at its first failure: the physical line is named, nothing after it runs, nothing is committed', async () => {
  const before = await versions();
  const r = await mxgate(home, [], script);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /line 4: destconfig: --tls must be one of default, no, preferred/);
  assert.match(r.stderr, /Stopped at line 4: nothing after it ran, and the pending changes were discarded/);
  assert.doesNotMatch(r.stdout, /c\.example/, 'line 5 did not run');
  assert.equal(await versions(), before, 'nothing was committed');
});

test('--keep-going carries on after a failure (the old behaviour, on request)', async () => {
  const before = await versions();
  const r = await mxgate(home, ['--keep-going'], script);
  assert.equal(r.code, 1, 'still says that something failed');
  assert.match(r.stderr, /line 4: destconfig:/);
  assert.equal(await versions(), before + 1, 'the commit at the end ran');
});

test('an invalid answer inside a piped dialog fails that command at its line; the lines after it are not swallowed as answers', async () => {
  const lines = ['alertconfig', 'new', 'ops@example.com', '99', '', 'sethostname after.example', 'commit "after"'];
  const before = await versions();
  const r = await mxgate(home, [], lines.join('\n') + '\n');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /line 4: alertconfig: .*"99"/);
  assert.doesNotMatch(r.stderr, /Input ended in the middle/);
  assert.equal(await versions(), before);
});

test('unknown commands and user mistakes (a malformed PEM, a wrong passphrase) give one line with its number, no stack trace', async () => {
  const conf = path.join(home, 'configuration');
  await writeFile(path.join(conf, 'bad.pem'), '-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n');
  const chain = opensslChain();
  await writeFile(path.join(conf, 'leaf.pem'), chain.leaf);
  await writeFile(path.join(conf, 'leaf.key'), chain.leafKey);
  await writeFile(path.join(conf, 'pass.txt'), 'right\n');
  const { execFileSync } = await import('node:child_process');
  execFileSync('openssl', ['pkcs12', '-export', '-in', path.join(conf, 'leaf.pem'), '-inkey', path.join(conf, 'leaf.key'), '-out', path.join(conf, 'leaf.p12'), '-passout', 'pass:other']);
  for (const [line, why] of [
    ['frobnicate now', /^mxgate: -c argument 1: Unknown command: 'frobnicate'/m],
    ['certconfig certauthority custom import --file bad.pem', /^mxgate: -c argument 1: certconfig: .*(PEM|certificate)/im],
    ['certconfig import p12 --file leaf.p12 --passphrase-file pass.txt', /^mxgate: -c argument 1: certconfig: .*(pass ?phrase|password)/im],
  ] as const) {
    const r = await mxgate(home, ['-c', line]);
    assert.equal(r.code, 1, line);
    assert.match(r.stderr, why, `${line}:\n${r.stderr}`);
    assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at |internal error/, `${line}: no stack trace, not "internal"`);
  }
});
