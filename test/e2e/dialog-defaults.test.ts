import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { applianceWithListener, cleanup, mxgate, shellOk } from '../helpers.js';
import { KEY, Terminal } from '../terminal.js';

/**
 * Enter keeps the current value in every question, certificates included: the outbound
 * certificate (destconfig SETUP) and a listener's (listenerconfig EDIT CERTIFICATE) used to fall
 * back to the first profile, Demo.
 */
let home: string;

before(async () => {
  ({ home } = await applianceWithListener());
  await shellOk(
    home,
    'certconfig new mx1 --cn mx1.example.com --country JP --key ecdsa-p256',
    'listenerconfig edit InboundMail certificate mx1',
    'destconfig setup --certificate mx1',
    'commit "mx1 everywhere"',
  );
});
after(() => cleanup(home));

test('a script that answers Enter keeps mx1 for outbound TLS and for the listener', async () => {
  const script = ['destconfig', 'setup', '', '', '', '', 'listenerconfig', 'edit', '1', 'certificate', '', '', '', 'showchanges', ''].join('\n');
  const r = await mxgate(home, [], script);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Please choose the certificate to present for all outbound TLS connections\.\n1\. Demo \(demonstration certificate\)\n2\. mx1\n\[2\]> /);
  assert.match(r.stdout, /Please choose a certificate profile for this listener\.\n1\. Demo .*\n2\. mx1 \(mx1\.example\.com\)\n\[2\]> /);
  assert.match(r.stdout, /There are no changes|No changes/i, r.stdout);
});

test('at a terminal the menu starts on the certificate in use', async () => {
  const term = new Terminal(home);
  try {
    let at = await term.waitFor(/> $/);
    term.line('destconfig');
    at = await term.waitFor(/\[\]> $/, at);
    term.line('setup');
    at = await term.waitFor(/Please choose the certificate to present for all outbound TLS connections\./, at);
    at = await term.waitFor(/❯ 2\. mx1|> 2\. mx1/, at);
    term.line('');
    at = await term.waitFor(/Do you want to send an alert/, at);
    term.type(KEY.ctrlC);
    await term.waitFor(/> $/, at);
    term.line('quit');
    await term.exited();
  } finally {
    term.kill();
  }
});
