import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { applianceWithListener, cleanup, mxgate, shellOk } from '../helpers.js';
import { verifyPassword } from '../../src/store/accounts/users.js';

/** userconfig and passwd: accounts with scrypt hashes; the password never appears anywhere. */
let home: string;
const conf = (f: string) => path.join(home, 'configuration', f);
const committed = async () => (JSON.parse(await readFile(path.join(home, 'config', 'current.json'), 'utf8')) as { config: { users: { name: string; role: string; passwordHash: string }[] } }).config;
before(async () => {
  ({ home } = await applianceWithListener());
  await writeFile(conf('alice.pw'), 'correct horse battery\n');
  await writeFile(conf('alice2.pw'), 'another long secret\n');
  await writeFile(conf('short.pw'), 'short\n');
});
after(() => cleanup(home));

test('an account is stored as an scrypt hash; the password is in no file, output or log', async () => {
  const out = await shellOk(home, 'userconfig new Alice --role operator --password-file alice.pw', 'userconfig', 'showchanges', 'commit "alice"');
  assert.match(out, /Account alice \(operator\) created/);
  assert.match(out, /^alice +operator +0$/m);
  assert.doesNotMatch(out, /correct horse|scrypt\$/, 'neither the password nor the hash is shown');
  const [alice] = (await committed()).users;
  assert.equal(alice!.name, 'alice');
  assert.match(alice!.passwordHash, /^scrypt\$15\$8\$1\$/);
  assert.equal(await verifyPassword(alice!.passwordHash, 'correct horse battery'), true);
  assert.equal(await verifyPassword(alice!.passwordHash, 'correct horse batterx'), false);
  const everything = (await readFile(path.join(home, 'config', 'current.json'), 'utf8')) + (await readFile(path.join(home, 'logs', 'mail_logs', 'mail.current'), 'utf8'));
  assert.doesNotMatch(everything, /correct horse/);
  assert.doesNotMatch(await shellOk(home, 'showconfig'), /scrypt\$/, 'showconfig masks the hash');

  const pending = await shellOk(home, 'passwd alice --password-file alice2.pw', 'showchanges', 'commit "new password"');
  assert.match(pending, /1 pending change against version \d+, in the order commit puts them in service:\nuserconfig:\n {2}account alice: password changed\n/, 'a changed password is a pending change (its hash is never shown)');
  assert.doesNotMatch(pending, /scrypt\$|another long secret/);
  const [changed] = (await committed()).users;
  assert.equal(await verifyPassword(changed!.passwordHash, 'another long secret'), true);
  assert.notEqual(changed!.passwordHash, alice!.passwordHash);
});

test('bad names, roles and passwords are refused with one line; the last administrator stays', async () => {
  for (const [line, why] of [
    ['userconfig new 9lives --role guest --password-file alice.pw', /Account name "9lives" must start with a lower-case letter/],
    ['userconfig new bob --role root --password-file alice.pw', /--role must be one of administrator, operator, guest; not "root"/],
    ['userconfig new bob --role guest --password-file short.pw', /at least 10 characters/],
    ['userconfig new bob --role guest', /Give --password-file FILE/],
    ['userconfig new alice --role guest --password-file alice2.pw', /The account alice exists already/],
    ['passwd nobody --password-file alice.pw', /There is no account nobody/],
  ] as const) {
    const r = await mxgate(home, ['-c', line]);
    assert.equal(r.code, 1, line);
    assert.match(r.stderr, why, line);
  }
  await shellOk(home, 'userconfig new root1 --role administrator --password-file alice2.pw', 'commit "admin"');
  const last = await mxgate(home, ['-c', 'userconfig delete root1']);
  assert.match(last.stderr, /root1 is the last administrator/);
  await shellOk(home, 'userconfig delete alice', 'userconfig delete root1', 'commit "no accounts"');
  assert.deepEqual((await committed()).users, []);
});
