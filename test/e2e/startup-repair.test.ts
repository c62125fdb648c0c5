import assert from 'node:assert/strict';
import { chmod, copyFile, readdir, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, test } from 'node:test';
import { applianceWithListener, cleanup, mxgate, sendMail, shellOk, stopEngine, submitMail, waitForLog } from '../helpers.js';
import { smtpSink } from '../sink.js';

/**
 * Start-up with a damaged or hostile data directory: committed history is never lost or
 * overwritten, one damaged file does not stop the engine, and a directory others can write to is
 * refused. Every case stops the engine, damages the disk as a crash or a careless hand would, and
 * starts it again.
 */
const homes: string[] = [];
after(() => Promise.all(homes.map(cleanup)));

async function appliance(): Promise<{ home: string; port: number }> {
  const a = await applianceWithListener();
  homes.push(a.home);
  return a;
}
const file = (home: string, ...p: string[]) => path.join(home, ...p);
const log = (home: string) => readFile(file(home, 'logs', 'mail_logs', 'mail.current'), 'utf8');
const start = (home: string) => mxgate(home, ['engine', 'start']);

test('a missing current.json: the newest history version is recovered (said in the log); history is never overwritten', async () => {
  const { home } = await appliance();
  await shellOk(home, 'sethostname second.example', 'commit "second"');
  await stopEngine(home);
  const history = await readdir(file(home, 'config', 'history'));
  const before = await Promise.all(history.map((n) => readFile(file(home, 'config', 'history', n), 'utf8')));
  await rm(file(home, 'config', 'current.json'));
  const s = await start(home);
  assert.equal(s.code, 0, s.stdout + s.stderr);
  const newest = history.sort().at(-1)!;
  assert.match(await log(home), new RegExp(`Warning: Start-up repair: config/current\\.json is missing: committed version ${Number(newest.slice(0, 6))} recovered from history/${newest}`));
  assert.match(await shellOk(home, 'showconfig'), /second\.example/, 'the committed settings, not factory settings');
  await shellOk(home, 'sethostname third.example', 'commit "third"');
  const after = await Promise.all(history.map((n) => readFile(file(home, 'config', 'history', n), 'utf8')));
  assert.deepEqual(after, before, 'every earlier history file is unchanged');
  assert.equal((await readdir(file(home, 'config', 'history'))).length, history.length + 1);
});

test('a missing current.json with no readable history: start-up is refused with one clear line, nothing is written', async () => {
  const { home } = await appliance();
  await stopEngine(home);
  await rm(file(home, 'config', 'current.json'));
  for (const n of await readdir(file(home, 'config', 'history'))) await writeFile(file(home, 'config', 'history', n), '{ broken');
  const s = await start(home);
  assert.notEqual(s.code, 0);
  assert.match(s.stdout + s.stderr, /config\/current\.json is missing, and none of the \d+ history versions can be read .*Nothing was changed: restore the data directory from a backup/);
  assert.deepEqual(await readdir(file(home, 'config')).then((n) => n.includes('current.json')), false, 'no factory configuration was written');
});

test('a history version that was never committed (commit killed half-way) is set aside; the next commit does not overwrite it', async () => {
  const { home } = await appliance();
  await stopEngine(home);
  const names = (await readdir(file(home, 'config', 'history'))).sort();
  const last = Number(names.at(-1)!.slice(0, 6));
  const orphan = `${String(last + 1).padStart(6, '0')}.json`;
  const text = (await readFile(file(home, 'config', 'history', names.at(-1)!), 'utf8')).replace(`"version": ${last}`, `"version": ${last + 1}`);
  await writeFile(file(home, 'config', 'history', orphan), text);
  await writeFile(file(home, 'config', `.current.json.0123456789ab.tmp`), 'half');
  assert.equal((await start(home)).code, 0);
  const l = await log(home);
  assert.match(l, new RegExp(`Start-up repair: history/${orphan} was never committed \\(a commit was interrupted\\); set aside as history/${orphan}\\.orphan`));
  assert.match(l, /Start-up repair: removed config\/\.current\.json\.0123456789ab\.tmp, left by an interrupted write/);
  await shellOk(home, 'sethostname after-orphan.example', 'commit "after orphan"');
  assert.equal(await readFile(file(home, 'config', 'history', `${orphan}.orphan`), 'utf8'), text, 'the orphan is kept as it was');
  assert.match(await readFile(file(home, 'config', 'history', orphan), 'utf8'), /after-orphan\.example/);
});

test('an unreadable history version is listed as such by rollbackconfig list; the others still show', async () => {
  const { home } = await appliance();
  await shellOk(home, 'sethostname two.example', 'commit "two"');
  await writeFile(file(home, 'config', 'history', '000001.json'), 'garbage');
  const out = await shellOk(home, 'rollbackconfig list');
  assert.match(out, /^1 +- +- +UNREADABLE: 000001\.json: not valid JSON/m);
  assert.match(out, /^3 .* two +\(current\)$/m);
  const r = await mxgate(home, ['-c', 'rollbackconfig 1']);
  assert.equal(r.code, 1);
  assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /);
});

test('damaged queue files go to queue/corrupt/ (named in the log); the engine starts and the rest is delivered as before', async () => {
  const { home, port } = await appliance();
  await shellOk(home, 'listenerconfig edit InboundMail rcptaccess add .test');
  const { response } = await sendMail(port, 'good one');
  const good = Number(/MID (\d+)/.exec(response)![1]);
  await stopEngine(home);
  await writeFile(file(home, 'queue', '9001.json'), '{ not json');
  await writeFile(file(home, 'queue', '9001.eml'), 'Subject: x\r\n\r\nx');
  await writeFile(file(home, 'queue', '9002.json'), 'null');
  await writeFile(file(home, 'queue', 'ids.json'), 'garbage');
  const s = await start(home);
  assert.equal(s.code, 0, s.stdout + s.stderr);
  const l = await log(home);
  assert.match(l, /Start-up repair: queue\/9001\.json of MID 9001 cannot be used \(not valid JSON .*\); moved with its message to queue\/corrupt\//);
  assert.match(l, /Start-up repair: queue\/9002\.json of MID 9002 cannot be used \(not an envelope\)/);
  assert.match(l, /Start-up repair: ids\.json cannot be read .*numbering resumes at \d+/);
  assert.deepEqual((await readdir(file(home, 'queue', 'corrupt'))).sort(), ['9001.eml', '9001.json', '9002.json']);
  assert.match(await shellOk(home, 'status'), /Queue: +1 message\(s\)/);
  const next = await sendMail(port, 'after repair');
  assert.ok(Number(/MID (\d+)/.exec(next.response)![1]) > Math.max(good, 9002), 'numbers are never reused');
});

test('a queued message whose file no longer matches its envelope is set aside, never delivered short: at start-up and at delivery', async () => {
  const { home, port } = await appliance();
  const sink = await smtpSink();
  try {
    await shellOk(home, 'listenerconfig edit InboundMail rcptaccess add .test', 'smtproutes new cut.test 127.0.0.1:1', 'commit "cut.test goes nowhere yet"');
    const first = await submitMail(port, 'user@cut.test', 'cut at rest');
    await stopEngine(home);
    await truncate(file(home, 'queue', `${first}.msg`), 10);
    assert.equal((await start(home)).code, 0);
    assert.match(await log(home), new RegExp(`Start-up repair: queue/${first}\\.msg of MID ${first} cannot be used \\(it ends without its envelope \\(cut short: 10 bytes\\)\\); moved to queue/corrupt/`));

    const second = await submitMail(port, 'user@cut.test', 'cut while queued');
    // Cut once it waits in the queue (its first attempt has failed), so delivery reads it from disk.
    await waitForLog(home, new RegExp(`Delayed: MID ${second} RID`), 15_000);
    await truncate(file(home, 'queue', `${second}.msg`), 10);
    await shellOk(home, 'smtproutes delete cut.test', `smtproutes new cut.test 127.0.0.1:${sink.port}`, 'commit "cut.test reachable"', 'deliverynow cut.test');
    await waitForLog(home, new RegExp(`Critical: Damaged message: queue/${second}\\.msg of MID ${second} cannot be used \\(it ends without its envelope \\(cut short: 10 bytes\\)\\)`), 15_000);
    assert.deepEqual(sink.received, [], 'nothing was sent');
    assert.match(await shellOk(home, 'status'), /Queue: +0 message\(s\)/);
    assert.deepEqual((await readdir(file(home, 'queue', 'corrupt'))).sort(), [`${first}.msg`, `${first}.msg.json`, `${second}.msg`, `${second}.msg.json`].sort(), 'with the envelopes their failed attempts rewrote');
  } finally {
    await sink.close();
  }
});

test('a pid file naming a live process that is not our engine (pid 1) does not stop start-up', async () => {
  const { home } = await appliance();
  await stopEngine(home);
  await writeFile(file(home, 'run', 'engine.pid'), '1\n');
  const s = await start(home);
  assert.equal(s.code, 0, s.stdout + s.stderr);
  assert.match(s.stdout, /Engine started \(pid \d+\)/);
});

test('a data directory others can write to, or a planted symbolic link, is refused with a clear message', async () => {
  const { home } = await appliance();
  await stopEngine(home);
  await chmod(file(home, 'logs'), 0o777);
  let s = await start(home);
  assert.notEqual(s.code, 0);
  assert.match(s.stdout + s.stderr, new RegExp(`${file(home, 'logs').replace(/\//g, '\\/')} is writable by group or others \\(mode 0777\\): fix it with "chmod go-w `));
  await chmod(file(home, 'logs'), 0o700);
  // A link where the mail log goes: never written through.
  const victim = file(home, 'victim.txt');
  await writeFile(victim, 'untouched\n');
  await copyFile(file(home, 'logs', 'mail_logs', 'mail.current'), file(home, 'mail.saved'));
  await rm(file(home, 'logs', 'mail_logs', 'mail.current'));
  await symlink(victim, file(home, 'logs', 'mail_logs', 'mail.current'));
  s = await start(home);
  assert.notEqual(s.code, 0);
  assert.match(s.stdout + s.stderr, /mail\.current is a symbolic link; the mail log is never written through one/);
  assert.equal(await readFile(victim, 'utf8'), 'untouched\n');
});
