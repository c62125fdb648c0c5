import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { MissingTool, tool } from '../system-tools.js';

test('a missing system tool fails in one line that names its Debian package', async () => {
  const empty = await mkdtemp(path.join(os.tmpdir(), 'mxgate-no-tools-'));
  try {
    assert.throws(() => tool('posttls-finger', [empty]), (err: Error) => {
      assert.ok(err instanceof MissingTool);
      assert.equal(err.message, 'posttls-finger is not installed: apt-get install postfix');
      return true;
    });
    assert.throws(() => tool('ldns-signzone', [empty]), { message: 'ldns-signzone is not installed: apt-get install ldnsutils' });
    assert.throws(() => tool('frobnicate', [empty]), { message: 'frobnicate is not installed: apt-get install the package that provides frobnicate' });
  } finally {
    await rm(empty, { recursive: true });
  }
});

test('a present tool is found by its absolute path', () => {
  assert.equal(path.isAbsolute(tool('openssl')), true);
  assert.match(tool('openssl'), /\/openssl$/);
});
