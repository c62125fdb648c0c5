import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { accepts, cleanup, freePort, mxgate, sendMail, tempHome, waitForLog, queuedMessage } from '../helpers.js';

let home: string;
let port: number;
before(async () => {
  home = await tempHome();
  port = await freePort();
});
after(() => cleanup(home));

test('a piped provisioning script creates a listener with the dialog and commits it', async () => {
  // The NEW dialog answered line by line: type, name, interface, port, the domains it accepts mail for, its certificate.
  const script = ['listenerconfig', 'new', '1', 'InboundMail', '1', String(port), 'example.net', '', '', 'showchanges', 'commit "first listener"', 'status', ''].join('\n');
  const run = await mxgate(home, [], script);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /Started the mxgate engine/);
  assert.match(run.stdout, /Please select the type of listener you want to create\.\n1\. Public\n2\. Private\n\[1\]> 1/);
  assert.match(run.stdout, /Enter the domains this listener accepts mail for, separated by commas [^\n]*\n\[\]> example\.net\n/);
  assert.match(run.stdout, /Please choose a certificate profile for this listener \(STARTTLS\)\.\n1\. Demo \([^)]*\) - demonstration certificate\n\[1\]> \n/);
  assert.match(run.stdout, /Listener InboundMail created/);
  assert.doesNotMatch(run.stdout, /accepts mail for no domain/);
  assert.match(run.stdout, /listenerconfig:\n  listener InboundMail added: Public on Management \(127\.0\.0\.1\) port \d+, TLS No, certificate Demo \(demonstration certificate\), accepts mail for example\.net\n/);
  assert.match(run.stdout, /Changes committed: .* \(version 2\)/);
  assert.match(run.stdout, new RegExp(`InboundMail \\(Public\\) on Management 127\\.0\\.0\\.1 port ${port}: listening`));
  assert.ok(await accepts(port));
});

test('mail sent with nodemailer is accepted with its MID and is in the durable queue', async () => {
  const { response, messageId } = await sendMail(port, 'provisioned');
  const mid = /^250 .*MID (\d+)/.exec(response)?.[1];
  assert.ok(mid, response);
  const queue = await readdir(path.join(home, 'queue'));
  assert.ok(queue.includes(`${mid}.msg`), queue.join(' '));
  const { envelope, message } = await queuedMessage(home, mid!);
  assert.equal(envelope.from, 'sender@example.com');
  assert.deepEqual(envelope.to, ['rcpt1@example.net', 'rcpt2@example.net']);
  assert.match(message, new RegExp(`^Received: from client\\.test \\(\\[127\\.0\\.0\\.1\\]\\)\\r\\n  by .* with ESMTP id MID ${mid};`));
  assert.match(message, /Subject: provisioned/);

  // The session's close is logged when the client's QUIT has been handled: wait for that session's
  // (an earlier connection's close would not do).
  const icid = new RegExp(`Start MID ${mid} ICID (\\d+)`).exec(await waitForLog(home, new RegExp(`Start MID ${mid} ICID \\d+`)))?.[1];
  assert.ok(icid, 'the message has an ICID in the mail log');
  const log = await waitForLog(home, new RegExp(`ICID ${icid} close$`, 'm'));
  for (const line of [
    `Info: New SMTP ICID ${icid} interface Management (127.0.0.1) address 127.0.0.1`,
    `Info: MID ${mid} ICID ${icid} From: <sender@example.com>`,
    `Info: MID ${mid} ICID ${icid} RID 0 To: <rcpt1@example.net>`,
    `Info: MID ${mid} ICID ${icid} RID 1 To: <rcpt2@example.net>`,
    `Info: MID ${mid} Message-ID '${messageId}'`,
    `Info: MID ${mid} queued for delivery`,
  ]) {
    assert.ok(log.includes(line), `missing "${line}" in\n${log}`);
  }
  assert.match(log, new RegExp(`^\\w{3} \\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d \\d{4} Info: ICID ${icid} close$`, 'm'));
});

test('STARTTLS is not offered and not accepted until the TLS work lands', async () => {
  const net = await import('node:net');
  const reply = await new Promise<string>((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let data = '';
    s.on('data', (d) => {
      data += d.toString();
      if (/^220 /m.test(data) && !data.includes('EHLO-SENT')) {
        data += 'EHLO-SENT\n';
        s.write('EHLO t\r\nSTARTTLS\r\nQUIT\r\n');
      }
      if (/^221 /m.test(data)) {
        s.end();
        resolve(data);
      }
    });
    s.on('error', reject);
  });
  assert.doesNotMatch(reply, /250[- ]STARTTLS/);
  assert.match(reply, /^500 .*not recognized/m);
});

test('rollbackconfig VERSION removes the listener again, as a new version', async () => {
  const run = await mxgate(home, ['-c', 'rollbackconfig 1', '-c', 'rollbackconfig list']);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /Changes committed: .* \(version 3\)/);
  assert.match(run.stdout, /^3 .* Rollback to version 1 {2}\(current\)$/m);
  assert.equal(await accepts(port), false);
  const current = JSON.parse(await readFile(path.join(home, 'config', 'current.json'), 'utf8'));
  assert.equal(current.version, 3);
  assert.deepEqual(current.config.listeners, []);
});

test('the rollback dialog lists versions and reverts to the chosen one', async () => {
  // On a pipe a wrong answer fails the command at its line (no second question).
  const wrong = await mxgate(home, [], 'rollbackconfig\n9\n2\nY\n');
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /line 2: rollbackconfig: .*That value is not valid\./);
  const run = await mxgate(home, [], 'rollbackconfig\n2\nY\n');
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /#\s+Committed On\s+User\s+Description/);
  assert.match(run.stdout, /\(version 4\)/);
  assert.ok(await accepts(port));
});
