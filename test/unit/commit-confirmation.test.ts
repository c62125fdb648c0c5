import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { PendingConfirmation } from '../../src/control/status.js';
import { CommitConfirmation } from '../../src/engine/commitConfirmation.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function lab(rollBack: (p: PendingConfirmation) => Promise<void> = async () => undefined) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mxg-confirm-'));
  dirs.push(dir);
  const file = path.join(dir, 'confirmation.json');
  const warnings: string[] = [];
  const c = new CommitConfirmation({ file, log: { info: () => undefined, warning: (m) => void warnings.push(m) }, rollBack });
  return { c, file, warnings };
}

test('a second commit confirmed before the first was confirmed still goes back to before the first; the file is 0600 and gone once confirmed', async () => {
  const { c, file } = await lab();
  await c.open();
  await c.start(5, 4, 10, 'admin');
  const second = await c.start(6, 5, 10, 'admin');
  assert.equal(second.previous, 4);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.equal(JSON.parse(await readFile(file, 'utf8')).version, 6);
  assert.equal((await c.confirm())!.version, 6);
  await assert.rejects(stat(file), /ENOENT/);
  assert.equal(await c.confirm(), undefined);
  c.close();
});

test('an engine that starts after the deadline goes back at once; a rollback that fails is not forgotten', async () => {
  const calls: number[] = [];
  let fail = true;
  const { c, file, warnings } = await lab(async (p) => {
    calls.push(p.version);
    if (fail) throw new Error('port 25 is taken');
  });
  await writeFile(file, JSON.stringify({ version: 9, previous: 8, minutes: 1, user: 'admin', deadline: new Date(Date.now() - 1000).toISOString() }));
  await c.open();
  for (let i = 0; i < 100 && calls.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(calls, [9]);
  assert.match(warnings.join('\n'), /Going back from unconfirmed version 9 to version 8 failed: port 25 is taken; trying again in a minute/);
  assert.equal(c.pending()?.version, 9, 'still waiting to go back');
  fail = false;
  c.close();
  const again = new CommitConfirmation({ file, log: { info: () => undefined, warning: () => undefined }, rollBack: async (p) => void calls.push(p.version) });
  await again.open();
  for (let i = 0; i < 100 && again.pending(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(again.pending(), undefined);
  assert.deepEqual(calls, [9, 9]);
  again.close();
});

test('an unreadable deadline file is said, not fatal', async () => {
  const { c, file, warnings } = await lab();
  await writeFile(file, '{not json');
  await c.open();
  assert.equal(c.pending(), undefined);
  assert.match(warnings[0]!, /cannot be read/);
});
