import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { applianceWithListener, cleanup, mxgate, shellOk, stopEngine, until } from '../helpers.js';
import { SmtpProbe } from '../smtp-probe.js';

/**
 * commit confirmed MINUTES: the change is live at once and goes back by itself unless confirmed —
 * judged by a real SMTP session (a recipient domain accepted, then refused again), across an
 * engine restart, with both versions in the history and a System alert.
 */
let home: string;
let port: number;

before(async () => {
  ({ home, port } = await applianceWithListener());
});
after(() => cleanup(home));

const shell = (...lines: string[]) => shellOk(home, ...lines);

/** The listener's reply to RCPT TO:<someone@domain>, its code. */
async function rcptReply(domain: string): Promise<string> {
  const { probe } = await SmtpProbe.connect(port);
  try {
    await probe.send('EHLO probe.test');
    await probe.send('MAIL FROM:<a@example.org>');
    return (await probe.send(`RCPT TO:<someone@${domain}>`)).slice(0, 3);
  } finally {
    probe.close();
  }
}

const headVersion = async () => JSON.parse(await readFile(path.join(home, 'config', 'current.json'), 'utf8')).version as number;

test('a commit confirmed that nobody confirms goes back by itself, even across an engine restart: SMTP shows it, history and alerts say it', async () => {
  const before = await headVersion();
  assert.equal(await rcptReply('confirmed.test'), '550');
  const out = await shell('listenerconfig edit InboundMail rcptaccess add confirmed.test', 'commit confirmed 1 "accept confirmed.test"');
  assert.match(out, new RegExp(`Version ${before + 1} goes back to version ${before} at .* unless "commit confirm" comes first`));
  assert.equal(await rcptReply('confirmed.test'), '250', 'in service at once');
  assert.match(await shell('status'), new RegExp(`version ${before + 1} \\(commit confirmed by \\S+\\) goes back to version ${before} at`));

  await stopEngine(home);
  assert.equal((await mxgate(home, ['engine', 'start'])).code, 0);
  assert.match(await shell('status'), /goes back to version/, 'the deadline survived the restart');

  await until(home, 'the unconfirmed commit to go back', async () => (await headVersion()) === before + 2, 120_000);
  assert.equal(await rcptReply('confirmed.test'), '550', 'the change is undone');
  const history = await shell('rollbackconfig list', 'displayalerts', 'status');
  assert.match(history, /accept confirmed\.test/);
  assert.match(history, new RegExp(`system +Rollback to version ${before}: version ${before + 1} \\(commit confirmed by \\S+\\) was not confirmed within 1 minute`));
  assert.match(history, new RegExp(`Commit not confirmed: back to version ${before}`));
  assert.doesNotMatch(history, /goes back to version/, 'nothing waits any more');
});

test('"commit confirm" or any later commit keeps a commit confirmed; confirming with nothing waiting, or bad minutes, is one clear line', async () => {
  await shell('listenerconfig edit InboundMail rcptaccess add kept.test', 'commit confirmed 30 "accept kept.test"');
  // A configuration that may still go back by itself does not become a cluster's.
  const founding = await mxgate(home, ['-c', 'clusterconfig create Gateways --address 127.0.0.79']);
  assert.equal(founding.code, 1);
  assert.match(founding.stderr, /Version \d+ waits for confirmation until .*: "commit confirm" it \(or let it go back\) before the cluster takes this machine's configuration\./);
  const confirmed = await shell('commit confirm', 'status');
  assert.match(confirmed, /Version \d+ \(committed by \S+\) is confirmed: it stays in service\./);
  assert.doesNotMatch(confirmed, /goes back to version/);
  const again = await mxgate(home, ['-c', 'commit confirm']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /No commit is waiting for confirmation\./);

  await shell('listenerconfig edit InboundMail rcptaccess add later.test', 'commit confirmed 30 "accept later.test"');
  const later = await shell('listenerconfig edit InboundMail rcptaccess add third.test', 'commit "a plain commit"', 'status');
  assert.doesNotMatch(later, /goes back to version/, 'a later commit confirms');
  assert.equal(await rcptReply('later.test'), '250');

  for (const bad of ['commit confirmed', 'commit confirmed 0', 'commit confirmed 1441', 'commit confirmed soon']) {
    const r = await mxgate(home, ['-c', 'listenerconfig edit InboundMail rcptaccess add bad.test', '-c', bad]);
    assert.equal(r.code, 1, bad);
    assert.match(r.stderr, /"commit confirmed" needs the minutes to wait for "commit confirm", 1 to 1440/, bad);
  }
  assert.equal(await rcptReply('bad.test'), '550', 'nothing was committed');
});

test('commit check tries what a commit would (here: binding a port another program holds) and applies and records nothing', async () => {
  const version = await headVersion();
  const ok = await shell('listenerconfig edit InboundMail rcptaccess add checked.test', 'commit check');
  assert.match(ok, /The pending changes can be committed: nothing was applied or recorded\./);
  assert.equal(await headVersion(), version);
  assert.equal(await rcptReply('checked.test'), '550', 'not applied');

  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  const taken = (holder.address() as AddressInfo).port;
  try {
    const r = await mxgate(home, ['-c', `listenerconfig new Second --type private --interface Management --port ${taken}`, '-c', 'commit check']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`The commit would fail:\\n  listener Second: .*${taken}.*\\nNothing was applied or recorded\\.`));
    assert.equal(await headVersion(), version);
  } finally {
    holder.close();
  }
});
