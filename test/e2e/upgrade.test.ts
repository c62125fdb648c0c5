import assert from 'node:assert/strict';
import { chmod, cp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cleanup, freePort, mxgate, shellOk, tempHome, until } from '../helpers.js';
import { smtpSink } from '../sink.js';

/**
 * A data directory written by an earlier release (test/fixtures/data-format-1: made by the release
 * before data formats were counted, with three messages queued for example.net behind a relay that
 * was down, and three committed versions). This release migrates it at start after keeping a copy,
 * delivers what was queued, and keeps history and rollback; a directory of a newer format is refused.
 */
const FIXTURE = fileURLToPath(new URL('../fixtures/data-format-1', import.meta.url));
const homes: string[] = [];
after(() => Promise.all(homes.map(cleanup)));

/** The fixture as an administrator's disk: owner-only, as the engine writes it (git keeps no modes). */
async function oldDirectory(): Promise<string> {
  const home = await tempHome();
  homes.push(home);
  await cp(FIXTURE, home, { recursive: true });
  const walk = async (dir: string): Promise<void> => {
    await chmod(dir, 0o700);
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(path.join(dir, e.name));
      else await chmod(path.join(dir, e.name), 0o600);
    }
  };
  await walk(home);
  return home;
}
const mailLog = (home: string) => readFile(path.join(home, 'logs', 'mail_logs', 'mail.current'), 'utf8');
const exists = (p: string) => stat(p).then(() => true, () => false);

test('a data directory of the previous release: migrated after a copy is kept, every queued message delivered, history and rollback intact', async () => {
  const home = await oldDirectory();
  const sink = await smtpSink();
  try {
    const started = await mxgate(home, ['engine', 'start']);
    assert.equal(started.code, 0, started.stdout + started.stderr);
    const log = await mailLog(home);
    const copy = log.match(/Start-up: data directory migrated from format 1 to 3; the directory as it was is kept in (upgrades\/format-1-[\dTZ-]+)/)?.[1];
    assert.ok(copy, `the migration is logged:\n${log}`);
    assert.match(log, /configuration version 3, 3 message\(s\) in the queue/);
    assert.deepEqual(JSON.parse(await readFile(path.join(home, 'FORMAT'), 'utf8')), { format: 'mxgate-data', version: 3, release: JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')).version });
    for (const f of ['config/current.json', 'config/history/000002.json', 'queue/1.json', 'queue/3.eml']) {
      assert.equal(await readFile(path.join(home, copy, f), 'utf8'), await readFile(path.join(FIXTURE, f), 'utf8'), `${f} is kept as it was`);
    }
    assert.equal((await stat(path.join(home, copy))).mode & 0o777, 0o700);
    assert.equal(await exists(path.join(home, copy, 'logs')), false, 'logs are not copied');

    // What was queued goes out once the relay is back.
    const port = await freePort();
    await shellOk(home, 'smtproutes delete example.net', `smtproutes new example.net 127.0.0.1:${sink.port}`, `listenerconfig edit InboundMail --port ${port}`, 'commit "the relay is back"', 'deliverynow');
    await until(home, 'the three queued messages', () => sink.received.length >= 3);
    assert.deepEqual(sink.received.map((m) => m.to[0]).sort(), ['user1@example.net', 'user2@example.net', 'user3@example.net']);
    assert.ok(sink.received.every((m) => /Subject: queued before the upgrade \d/.test(m.data)));

    // History: the earlier release's versions are listed and one can be rolled back to.
    const list = await shellOk(home, 'rollbackconfig list');
    for (const comment of ['the listener', 'example.net through a relay that is down', 'the relay is back']) assert.match(list, new RegExp(comment));
    await shellOk(home, 'rollbackconfig 3');
    assert.match(await shellOk(home, 'smtproutes list'), /example\.net → 127\.0\.0\.1:9\n/, 'version 3, as the earlier release committed it, is live again');

    // A second start finds the current format: nothing more is migrated or copied.
    assert.equal((await mxgate(home, ['engine', 'stop'])).code, 0);
    assert.equal((await mxgate(home, ['engine', 'start'])).code, 0);
    assert.equal((await readdir(path.join(home, 'upgrades'))).length, 1);
    assert.equal((await mailLog(home)).match(/data directory migrated/g)?.length, 1);
  } finally {
    await sink.close();
  }
});

test('a directory of a newer format is refused with one line and left as it is; a damaged FORMAT or a copy that cannot be kept stops the start', async () => {
  const newer = await oldDirectory();
  const format = `${JSON.stringify({ format: 'mxgate-data', version: 99, release: '99.0.0' })}\n`;
  await writeFile(path.join(newer, 'FORMAT'), format, { mode: 0o600 });
  const refused = await mxgate(newer, ['engine', 'run']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /is in data format 99, written by a newer mxgate; release [\d.]+ reads format 3 and older: run the newer release/);
  assert.doesNotMatch(refused.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(await readFile(path.join(newer, 'FORMAT'), 'utf8'), format);
  assert.equal(await exists(path.join(newer, 'upgrades')), false);

  await writeFile(path.join(newer, 'FORMAT'), 'not json\n');
  assert.match((await mxgate(newer, ['engine', 'run'])).stderr, /FORMAT is not an mxgate data format file/);

  // No copy, no migration: "upgrades" is a file where the copy would go.
  const blocked = await oldDirectory();
  await writeFile(path.join(blocked, 'upgrades'), 'in the way\n', { mode: 0o600 });
  const stopped = await mxgate(blocked, ['engine', 'run']);
  assert.notEqual(stopped.code, 0);
  assert.match(stopped.stderr, /needs migrating from data format 1 to 3, but the copy kept before it could not be written \(.*\); nothing was changed/);
  assert.equal(await exists(path.join(blocked, 'FORMAT')), false, 'still format 1');
  assert.equal(await readFile(path.join(blocked, 'config', 'current.json'), 'utf8'), await readFile(path.join(FIXTURE, 'config', 'current.json'), 'utf8'));
});

test('a new data directory starts in the current format', async () => {
  const home = await tempHome();
  homes.push(home);
  assert.equal((await mxgate(home, ['engine', 'start'])).code, 0);
  assert.equal(JSON.parse(await readFile(path.join(home, 'FORMAT'), 'utf8')).version, 3);
  assert.equal(await exists(path.join(home, 'upgrades')), false);
});
