import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { applianceWithListener, cleanup, mxgate, shellOk } from '../helpers.js';
import { SmtpProbe } from '../smtp-probe.js';
import { KEY, Terminal } from '../terminal.js';

/**
 * What a script or an administrator types is done exactly, or refused with a reason: no dropped
 * words, no invalid values, no invisible changes; Ctrl-C and Ctrl-D do what the shell says.
 */
let home: string;
let port: number;
const versions = async () => (await readdir(path.join(home, 'config', 'history'))).length;
before(async () => {
  ({ home, port } = await applianceWithListener());
});
after(() => cleanup(home));

test('extra words are an error that names them; nothing is stored and nothing is committed', async () => {
  const before = await versions();
  for (const [line, extra] of [
    ['listenerconfig edit InboundMail rcptaccess add exa mple.com', /Unexpected word "mple\.com"/],
    ['listenerconfig edit InboundMail hostaccess group ALLOWLIST add 10.0.0.1 10.0.0.2', /Unexpected word "10\.0\.0\.2"/],
    ['dnsconfig servers 127.0.0.1 junk', /Unexpected word "junk"/],
    ['destconfig new x.example --tls required junk more', /Unexpected words "junk more"/],
    ['showchanges please', /Unexpected word "please"/],
  ] as const) {
    const r = await mxgate(home, ['-c', line, '-c', 'commit "should not happen"']);
    assert.equal(r.code, 1, line);
    assert.match(r.stderr, extra, line);
  }
  assert.equal(await versions(), before);
  const rcpt = await shellOk(home, 'listenerconfig edit InboundMail rcptaccess print');
  assert.doesNotMatch(rcpt, /\bexa\b/);
});

test('one grammar: invalid addresses, host names, sizes and names are refused in batch forms and dialogs alike', async () => {
  const refused: [string, RegExp][] = [
    ['listenerconfig edit InboundMail hostaccess group ALLOWLIST add 300.1.1.1', /"300\.1\.1\.1"/],
    ['listenerconfig edit InboundMail hostaccess group ALLOWLIST add 999.1.1.1', /"999\.1\.1\.1"/],
    ['listenerconfig edit InboundMail hostaccess group ALLOWLIST add 10.1.300.', /partial IPv4/],
    ['smtproutes new x.example not_a_host!', /"not_a_host!" is not a host name/],
    [`smtproutes new x.example ${'a'.repeat(64)}.example`, /longer than 63 characters/],
    ['destconfig new bad_domain.example --tls preferred', /is not a domain/],
    ['destconfig new bücher.example --tls preferred', /"bücher\.example" is an internationalized name: give its A-label "xn--bcher-kva\.example"/],
    ['smtproutes new münchen.example mx.example.com', /give its A-label "xn--mnchen-3ya\.example"/],
    [`certconfig new --cn ${'c'.repeat(5012)} --country JP`, /Common Name is 5012 characters long; at most 64/],
    ['listenerconfig edit InboundMail hostaccess default --max-message-size 99999999999', /--max-message-size must be a whole number from 1 to 2147483647/],
    ['alertconfig new ops@bad_domain --classes all', /not an e-mail address|not an email address/],
    ['certconfig new --cn mx.example --country JP --days -5', /--days must be a whole number of days \(1-36500\), not "-5"/],
  ];
  for (const [line, why] of refused) {
    const r = await mxgate(home, ['-c', line]);
    assert.equal(r.code, 1, line);
    assert.match(r.stderr, why, line);
    assert.doesNotMatch(r.stderr, /ambiguous|internal error|\bat .*\.js:\d+/, line);
  }
  // The dialog refuses the same size the batch form refuses (same limit, same words).
  const dialog = await mxgate(home, [], ['listenerconfig', 'edit', '1', 'hostaccess', 'default', '99999999999'].join('\n') + '\n');
  assert.equal(dialog.code, 1);
  assert.match(dialog.stderr, /line 6: .*from 1 to 2147483647/);
  // Still good: a last-octet range, a partial address, CIDR, .domain.
  await shellOk(
    home,
    'listenerconfig edit InboundMail hostaccess group SUSPECTLIST add 10.1.1.1-50',
    'listenerconfig edit InboundMail hostaccess group SUSPECTLIST add 10.2.',
    'listenerconfig edit InboundMail hostaccess group SUSPECTLIST add 2001:db8::/32',
    'listenerconfig edit InboundMail hostaccess group SUSPECTLIST add .partner.example',
    'clearchanges',
  );
});

test('the order of sender groups is configuration: a move shows in showchanges, commits, and the engine follows it', async () => {
  await shellOk(
    home,
    'listenerconfig edit InboundMail hostaccess group ALLOWLIST add 127.0.0.1',
    'listenerconfig edit InboundMail hostaccess group BLOCKLIST add 127.0.0.1',
    'commit "both lists name 127.0.0.1"',
  );
  const first = await SmtpProbe.connect(port);
  assert.match(first.greeting, /^220/, 'ALLOWLIST comes first');
  first.probe.close();

  const moved = await shellOk(home, 'listenerconfig edit InboundMail hostaccess group BLOCKLIST move 1', 'showchanges', 'commit "blocklist first"');
  assert.match(moved, /listener InboundMail: host access sender groups order ALLOWLIST, BLOCKLIST, SUSPECTLIST, UNKNOWNLIST, ALL → BLOCKLIST, ALLOWLIST/);
  assert.match(moved, /Changes committed/);
  const second = await SmtpProbe.connect(port);
  assert.match(second.greeting, /^554/, 'BLOCKLIST now matches first');
  second.probe.close();

  const last = await mxgate(home, ['-c', 'listenerconfig edit InboundMail hostaccess group ALL move 1']);
  assert.match(last.stderr, /ALL sender group stays last/);
  const all = await mxgate(home, ['-c', 'listenerconfig edit InboundMail hostaccess group ALL delete ALL']);
  assert.equal(all.code, 1);
  assert.match(all.stderr, /cannot be emptied/);
  await shellOk(home, 'listenerconfig edit InboundMail hostaccess group BLOCKLIST delete 127.0.0.1', 'listenerconfig edit InboundMail hostaccess group ALLOWLIST delete 127.0.0.1', 'commit "restore"');
});

test('at a terminal: Ctrl-C cancels the command and its changes, Ctrl-D in a dialog cancels it, Ctrl-D at the prompt is quit, Tab completes', async () => {
  const term = new Terminal(home);
  try {
    let at = await term.waitFor(/> $/);
    // Ctrl-C after NEW in RCPTACCESS: the domain added in this command is not kept.
    term.line('listenerconfig');
    at = await term.waitFor(/\[\]> $/, at);
    // Choosing from a list is an arrow-key menu at a terminal (@inquirer/prompts); a typed number still picks.
    term.line('edit');
    at = await term.waitFor(/❯ 1\. InboundMail[^\n]*\n[\s\S]*navigate/, at);
    term.type('1');
    await new Promise((r) => setTimeout(r, 100));
    term.type(KEY.enter);
    at = await term.waitFor(/Choose the certificate\.\n\[\]> $/, at);
    term.line('rcptaccess');
    at = await term.waitFor(/\[\]> $/, at);
    term.line('new');
    at = await term.waitFor(/ALL\):\n\[\]> $/, at);
    term.line('added-then-cancelled.example');
    at = await term.waitFor(/\[\]> $/, at);
    term.type(KEY.ctrlC);
    at = await term.waitFor(/cancelled: the changes made in it were not recorded\.\n.*> $/, at);
    term.line('showchanges');
    at = await term.waitFor(/No changes have been made\.\n.*> $/, at);

    // Ctrl-D inside a dialog cancels that dialog; the shell goes on.
    term.line('alertconfig');
    at = await term.waitFor(/\[\]> $/, at);
    term.line('new');
    at = await term.waitFor(/alerts\.\n\[\]> $/, at);
    term.type(KEY.ctrlD);
    at = await term.waitFor(/-- alertconfig cancelled\.\n.*> $/, at);

    // Ctrl-C in an arrow-key list (@inquirer/prompts) cancels the command like at any prompt.
    term.line('listenerconfig');
    at = await term.waitFor(/\[\]> $/, at);
    term.line('edit');
    at = await term.waitFor(/navigate/, at);
    term.type(KEY.ctrlC);
    at = await term.waitFor(/-- listenerconfig cancelled\.\n.*> $/, at);

    // Tab completes command names.
    term.type('showch' + KEY.tab);
    at = await term.waitFor(/showchanges/, at);
    term.type(KEY.enter);
    at = await term.waitFor(/No changes have been made\.\n.*> $/, at);
    // From the third word on, Tab completes the names of the objects: here a listener.
    term.type(`listenerconfig edit Inbo${KEY.tab}`);
    at = await term.waitFor(/listenerconfig edit InboundMail/, at);
    term.type(KEY.ctrlC);
    at = await term.waitFor(/> $/, at);
    // Up recalls commands only: the dialogs' answers above ("new", "edit") are not in the history.
    const UP = '\x1b[A';
    term.type(UP);
    at = await term.waitFor(/showchanges/, at);
    term.type(UP);
    at = await term.waitFor(/listenerconfig/, at);
    term.type(UP);
    at = await term.waitFor(/alertconfig/, at);
    term.type(KEY.ctrlC);
    at = await term.waitFor(/> $/, at);

    // Ctrl-D at the prompt is quit: with a pending change it asks whether to commit.
    term.line('sethostname ctrl-d.example');
    at = await term.waitFor(/> $/, at);
    term.type(KEY.ctrlD);
    at = await term.waitFor(/Do you want to commit before exiting\? \[N\]> $/, at);
    term.line('n');
    await term.waitFor(/Uncommitted changes were discarded/, at);
    assert.equal(await term.exited(), 0);
  } finally {
    term.kill();
  }
  const hostname = await shellOk(home, 'showconfig');
  assert.doesNotMatch(hostname, /ctrl-d\.example/);
});

test('at a terminal long output is paged: any key shows the next page without Enter, q stops it, and what is typed after q is not lost', async () => {
  const term = new Terminal(home);
  try {
    let at = await term.waitFor(/> $/);
    term.line('certconfig certauthority system print');
    at = await term.waitFor(/-- More -- \(38 of \d+ lines; any key: next page, q: stop\) $/, at);
    assert.doesNotMatch(term.text.slice(at), /^39\. /m, 'the second page waits');
    term.type(' ');
    at = await term.waitFor(/-- More -- \(76 of/, at);
    // q and then a command typed straight after it: q stops the listing, the command runs.
    term.type('qstatus\r');
    at = await term.waitFor(/Engine: +up \(pid/, at);
    at = await term.waitFor(/> $/, at);
    term.line('quit');
    assert.equal(await term.exited(), 0);
    assert.doesNotMatch(term.text, /^100\. /m, 'q stopped the listing');
  } finally {
    term.kill();
  }
  // On a pipe the whole list comes at once.
  const piped = await shellOk(home, 'certconfig certauthority system print');
  assert.match(piped, /^100\. /m);
  assert.doesNotMatch(piped, /More/);
});

test('at a terminal passphrases are masked (@inquirer/prompts) and never shown', async () => {
  const term = new Terminal(home);
  try {
    let at = await term.waitFor(/> $/);
    for (const [keys, next] of [
      ['certconfig', /\[\]> $/],
      ['certificate', /\[\]> $/],
      ['export', /navigate/],
      ['', /\[Demo\.p12\]> $/],
      ['masked.p12', /Create a passphrase for file:/],
      ['Pw-masked-1', /Confirm the passphrase for file:/],
      ['Pw-masked-1', /exported|written|saved/i],
    ] as const) {
      term.line(keys);
      at = await term.waitFor(next, at);
    }
    term.line('');
    term.line('');
    at = await term.waitFor(/> $/, at);
    term.line('quit');
    assert.equal(await term.exited(), 0);
  } finally {
    term.kill();
  }
  assert.match(term.text, /Create a passphrase for file: \*{11}/);
  assert.doesNotMatch(term.text, /Pw-masked-1/);
});

test('with -c at a terminal an error is printed once (stdout and stderr are the same screen)', async () => {
  const term = new Terminal(home, ['-c', 'frobnicate']);
  try {
    assert.equal(await term.exited(), 1);
    assert.equal(term.text.match(/Unknown command: 'frobnicate'/g)?.length, 1, term.text);
  } finally {
    term.kill();
  }
});
