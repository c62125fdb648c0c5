import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { applianceWithListener, cleanup, mxgate, sendMail, shellOk, submitMail, waitForLog } from '../helpers.js';
import { KEY, Terminal } from '../terminal.js';

/** Reading the mail log from the shell: tail (following at a terminal) and grep. */
let home: string;
let port: number;
before(async () => {
  ({ home, port } = await applianceWithListener());
  await sendMail(port, 'for the log');
  await waitForLog(home, /Message finished|Delayed|queued/);
});
after(() => cleanup(home));

test('tail prints the last lines; grep finds lines in the log, with -i, and says when nothing matches', async () => {
  const three = await shellOk(home, 'tail mail_logs --lines 3');
  assert.equal(three.trimEnd().split('\n').length, 3);
  assert.match(three, /^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} \w+: /m, 'log lines as the appliance writes them');
  const found = await shellOk(home, 'grep "New SMTP ICID \\d+" mail_logs', 'grep -i "new smtp icid" mail_logs');
  assert.match(found, /New SMTP ICID \d+ interface Management/);
  const none = await mxgate(home, ['-c', 'grep no-such-line-anywhere mail_logs']);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /No line of mail_logs matches "no-such-line-anywhere"/);
  const bad = await mxgate(home, ['-c', 'grep "(" mail_logs']);
  assert.match(bad.stderr, /"\(" is not a regular expression/);
  const unknown = await mxgate(home, ['-c', 'tail secret_logs']);
  assert.match(unknown.stderr, /There is no log "secret_logs": mail_logs/);
});

test('at a terminal tail follows the log until Ctrl-C, then the prompt is back', async () => {
  const term = new Terminal(home);
  try {
    let at = await term.waitFor(/> $/);
    term.line('tail mail_logs --lines 1');
    at = await term.waitFor(/press Ctrl-C \(or Enter\) to stop\.\n/, at);
    await sendMail(port, 'while following');
    at = await term.waitFor(/New SMTP ICID \d+/, at);
    term.type(KEY.ctrlC);
    at = await term.waitFor(/> $/, at);
    term.line('quit');
    assert.equal(await term.exited(), 0);
  } finally {
    term.kill();
  }
});

test('logconfig rollover: by size into mail.@<time>.s files, only --keep of them kept; grep reads them too', async () => {
  const out = await shellOk(home, 'logconfig mail_logs --rotate-size 102400 --rotate-hours 0 --keep 2', 'commit "small logs"');
  assert.match(out, /Rollover: at 102400 bytes \(by size only\); 2 file\(s\) kept/);
  await submitMail(port, 'user@example.net', 'first of many');
  for (let i = 0; i < 400; i += 1) await submitMail(port, 'user@example.net', `filler ${i}`);
  const names = (await readdir(path.join(home, 'logs', 'mail_logs'))).filter((n) => n.startsWith('mail.@'));
  assert.ok(names.length >= 1 && names.length <= 2, `rolled over, at most 2 kept: ${names.join(', ')}`);
  for (const n of names) assert.match(n, /^mail\.@\d{8}T\d{6}(\.\d+)?\.s$/);
  // grep reads the rolled-over files too: a MID logged only in the oldest kept one is found.
  const oldest = await readFile(path.join(home, 'logs', 'mail_logs', names.sort()[0]!), 'utf8');
  const mid = /Start MID (\d+) /.exec(oldest)![1]!;
  assert.ok(!(await readFile(path.join(home, 'logs', 'mail_logs', 'mail.current'), 'utf8')).includes(`Start MID ${mid} `), 'that line is not in mail.current');
  assert.match(await shellOk(home, `grep "Start MID ${mid} " mail_logs`), new RegExp(`Start MID ${mid} ICID`));
  const bad = await mxgate(home, ['-c', 'logconfig mail_logs --rotate-size 10']);
  assert.match(bad.stderr, /--rotate-size must be a whole number from 102400 to 10737418240, not "10"/);
});
