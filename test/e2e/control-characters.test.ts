import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { request } from '../../src/control/client.js';
import { applianceWithListener, cleanup, mxgate, shellOk } from '../helpers.js';

/** Text one administrator types and others see: control characters never reach a terminal or the log raw. */
let home: string;
before(async () => {
  ({ home } = await applianceWithListener());
});
after(() => cleanup(home));

test('a commit comment with an escape sequence is refused, by the shell and by the engine', async () => {
  const r = await mxgate(home, ['-c', 'sethostname esc.example', '-c', 'commit "clear \x1b[2J screen"']);
  assert.equal(r.code, 1);
  assert.match(r.stdout + r.stderr, /The comment contains control characters .*Nothing was committed\./);
  const current = JSON.parse(await readFile(path.join(home, 'config', 'current.json'), 'utf8'));
  const socket = path.join(home, 'run', 'control.sock');
  await assert.rejects(request(socket, 'commit', { baseVersion: current.version, config: { ...current.config, hostname: 'esc.example' }, comment: 'a\nb', user: 'x' }), /control characters; nothing was committed/);
  assert.equal(JSON.parse(await readFile(path.join(home, 'config', 'current.json'), 'utf8')).version, current.version);
});

test('bidirectional overrides ("Trojan Source") and over-long comments are refused like control characters, by the shell and by the engine', async () => {
  const current = JSON.parse(await readFile(path.join(home, 'config', 'current.json'), 'utf8'));
  for (const mark of ['\u202e', '\u2066', '\u202a']) {
    const r = await mxgate(home, ['-c', 'sethostname bidi.example', '-c', `commit "approved ${mark}devorppa ton"`]);
    assert.equal(r.code, 1, JSON.stringify(mark));
    assert.match(r.stdout + r.stderr, /The comment contains control characters \(escape sequences, tabs, line breaks or bidirectional overrides\).*Nothing was committed\./);
  }
  const long = await mxgate(home, ['-c', 'sethostname long.example', '-c', `commit "${'x'.repeat(1001)}"`]);
  assert.equal(long.code, 1);
  assert.match(long.stdout + long.stderr, /The comment is 1001 characters long; at most 1000 are kept\. Nothing was committed\./);
  const socket = path.join(home, 'run', 'control.sock');
  const config = { ...current.config, hostname: 'bidi.example' };
  await assert.rejects(request(socket, 'commit', { baseVersion: current.version, config, comment: 'ok \u2067x', user: 'x' }), /control characters; nothing was committed/);
  await assert.rejects(request(socket, 'commit', { baseVersion: current.version, config, comment: 'y'.repeat(1001), user: 'x' }), /1001 characters long \(at most 1000\); nothing was committed/);
  assert.equal(JSON.parse(await readFile(path.join(home, 'config', 'current.json'), 'utf8')).version, current.version);
  // A thousand characters are fine.
  await shellOk(home, 'sethostname fine.example', `commit "${'z'.repeat(1000)}"`);
});

test('a comment stored before the check is shown escaped by rollbackconfig list', async () => {
  await shellOk(home, 'sethostname two.example', 'commit "two"');
  const names = (await readdir(path.join(home, 'config', 'history'))).sort();
  const file = path.join(home, 'config', 'history', names[0]!);
  const rec = JSON.parse(await readFile(file, 'utf8'));
  await writeFile(file, JSON.stringify({ ...rec, comment: 'old \x1b[31mred \u202eflipped' }));
  const out = await shellOk(home, 'rollbackconfig list');
  assert.match(out, /old \\x1b\[31mred \\u202eflipped/);
  assert.doesNotMatch(out, /\u202e/);
  assert.doesNotMatch(out, /\x1b/);
});
