import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { applianceWithListener, cleanup, mxgate, sendMail, shellOk, waitForLog } from '../helpers.js';
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
