import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { BoundedMap } from '../../src/engine/boundedMap.js';
import { IdAllocator } from '../../src/engine/ids.js';
import { ctime } from '../../src/store/dates.js';
import { MailLog } from '../../src/engine/log/mailLog.js';
import { shortList } from '../../src/store/text.js';
import { Spool } from '../../src/engine/queue/spool.js';
import { dataPaths } from '../../src/store/paths.js';
import { addListener } from '../../src/store/listeners/listeners.js';
import { defaultConfig } from '../../src/store/schema.js';
import { VersionStore } from '../../src/store/versions.js';

let dir: string;
before(async () => (dir = await mkdtemp(path.join(os.tmpdir(), 'mxg-unit-'))));
after(() => rm(dir, { recursive: true, force: true }));

test('a bounded map drops its oldest entry when full, and replacing a key drops nothing', () => {
  const m = new BoundedMap<string, number>(2);
  m.set('a', 1).set('b', 2).set('b', 3);
  assert.deepEqual([...m], [['a', 1], ['b', 3]]);
  m.set('c', 4);
  assert.deepEqual([...m], [['b', 3], ['c', 4]]);
});

test('ctime has the layout of C ctime()', () => {
  assert.equal(ctime(new Date(2005, 6, 20, 19, 47, 40)), 'Wed Jul 20 19:47:40 2005');
  assert.equal(ctime(new Date(2026, 10, 7, 8, 5, 3)), 'Sat Nov  7 08:05:03 2026');
});

test('ids never repeat, also after a restart without a clean shutdown', () => {
  const file = path.join(dir, 'ids.json');
  const a = new IdAllocator(file);
  a.open();
  const first = [a.take('mid'), a.take('mid'), a.take('icid')];
  assert.deepEqual(first, [1, 2, 1]);
  const b = new IdAllocator(file); // as if the first process had been killed
  b.open();
  assert.ok(b.take('mid') > 2);
  assert.ok(b.take('icid') > 1);
});

test('mail log lines have ctime and level, and the log rotates by size', async () => {
  const logDir = path.join(dir, 'mail_logs');
  const log = new MailLog(logDir, { maxBytes: 200, keep: 2 });
  log.open();
  // Lines are written once per turn of the event loop: one line per turn here, so the log rotates often.
  for (let i = 0; i < 20; i++) {
    log.info(`ICID ${i} close`);
    await new Promise((r) => setImmediate(r));
  }
  log.warning('line\nwith newline');
  log.info('escape \x1b[2J here');
  log.close();
  const names = await readdir(logDir);
  assert.ok(names.includes('mail.current'));
  assert.equal(names.filter((n) => n.startsWith('mail.@')).length, 2);
  const current = await readFile(path.join(logDir, 'mail.current'), 'utf8');
  assert.match(current, /^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} Warning: line with newline$/m);
  assert.match(current, /Info: escape \\x1b\[2J here$/m, 'control characters are shown, not passed on');
});

test('a line a remote party made huge (a 10,000-host MTA-STS policy) is cut, and says how much was left out', async () => {
  const logDir = path.join(dir, 'long_logs');
  const log = new MailLog(logDir);
  log.open();
  const mx = Array.from({ length: 10_000 }, (_, i) => `mx${i}.hostile.test`);
  log.info(`MTA-STS: MX(a.test) does not match the policy of hostile.test (mx: ${mx.join(', ')})`);
  log.info(`the same with a short list (mx: ${shortList(mx)})`);
  log.close();
  const [long, short] = (await readFile(path.join(logDir, 'mail.current'), 'utf8')).trim().split('\n');
  assert.ok(long!.length < 2_100, `${long!.length} characters`);
  assert.match(long!, /… \(\d+ more characters not logged\)$/);
  assert.match(short!, /\(mx: mx0\.hostile\.test, mx1\.hostile\.test, mx2\.hostile\.test, mx3\.hostile\.test, mx4\.hostile\.test and 9995 more\)$/);
});

test('the spool drops half-written messages at start and counts the rest', async () => {
  const qdir = path.join(dir, 'queue');
  const spool = new Spool(qdir);
  await spool.open();
  await spool.enqueue(
    { mid: 5, icid: 1, listener: 'L', clientAddress: '127.0.0.1', helo: 'h', from: 'a@b', to: ['c@d'], size: 3, receivedAt: '', state: 'queued', attempts: 0 },
    Buffer.from('abc'),
  );
  await writeFile(path.join(qdir, '6.eml'), 'orphan without envelope');
  const again = new Spool(qdir);
  await again.open();
  assert.deepEqual(again.size, { messages: 1, bytes: 3 });
  assert.deepEqual((await again.list()).map((e) => e.mid), [5]);
  await assert.rejects(stat(path.join(qdir, '6.eml')));
  assert.equal((await stat(path.join(qdir, '5.msg'))).mode & 0o777, 0o600);
});

test('version store: version 1 on first open, history kept, current.json is the newest', async () => {
  const paths = dataPaths(path.join(dir, 'home'));
  const store = new VersionStore(paths);
  const v1 = await store.open(defaultConfig);
  assert.equal(v1.version, 1);
  const next = addListener(v1.config, { name: 'In', type: 'public', interface: 'Management', port: 25 });
  await store.record(next, { user: 'admin', comment: 'first' });
  const reopened = new VersionStore(paths);
  assert.equal((await reopened.open(defaultConfig)).version, 2);
  assert.deepEqual((await reopened.list()).map((m) => `${m.version}:${m.user}:${m.comment}`), ['1:system:Initial configuration', '2:admin:first']);
  assert.deepEqual((await reopened.get(1))?.config.listeners, []);
  assert.equal(await reopened.get(9), undefined);
  assert.equal((await stat(paths.currentConfig)).mode & 0o777, 0o600);
});

test('a dead destination: one probe per wait, the wait doubles after a failed probe up to the maximum, attempts already under way do not extend it', async () => {
  const { DeadDestinations } = await import('../../src/engine/delivery/deadDestinations.js');
  const dead = new DeadDestinations();
  const backoff = { initialSeconds: 10, maxSeconds: 25 };
  assert.equal(dead.admit('d.example', 0), 'go');
  assert.deepEqual(dead.unreachable('d.example', 'refused', backoff, false, 0), { seconds: 10, first: true });
  assert.equal(dead.unreachable('d.example', 'refused', backoff, false, 0), undefined, 'a second attempt under way changes nothing');
  assert.equal(dead.admit('d.example', 9_999), 'wait');
  assert.equal(dead.admit('d.example', 10_000), 'probe');
  assert.equal(dead.admit('d.example', 10_001), 'wait', 'one probe at a time');
  assert.deepEqual(dead.unreachable('d.example', 'refused', backoff, true, 10_000), { seconds: 20, first: false });
  assert.equal(dead.admit('d.example', 30_000), 'probe');
  assert.deepEqual(dead.unreachable('d.example', 'refused', backoff, true, 30_000), { seconds: 25, first: false }, 'capped at the maximum');
  assert.equal(dead.reachable('d.example'), true);
  assert.equal(dead.admit('d.example', 30_001), 'go');
});
