import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { cleanup, freePort, mxgate, tempHome } from '../helpers.js';

let home: string;
before(async () => {
  home = await tempHome();
});
after(() => cleanup(home));

const committedListeners = async () =>
  JSON.parse(await readFile(path.join(home, 'config', 'current.json'), 'utf8')).config.listeners as { name: string }[];

test('end of input in the middle of a dialog aborts it with a clear message and changes nothing', async () => {
  const run = await mxgate(home, [], 'listenerconfig\nnew\n2\nHalfDone\n');
  assert.equal(run.code, 1);
  assert.match(run.stdout, /Input ended in the middle of "listenerconfig"; that operation was abandoned and nothing was changed\./);
  assert.doesNotMatch(run.stdout, /uncommitted changes/);
  assert.deepEqual(await committedListeners(), []);
});

test('invalid answers get the reason and the question again', async () => {
  const port = await freePort();
  const script = ['listenerconfig', 'new', 'public', '9bad', 'Good', '7', '1', 'abc', '99999', String(port), '', 'showchanges', ''].join('\n');
  const run = await mxgate(home, [], script);
  assert.equal(run.code, 0, run.stdout);
  assert.match(run.stdout, /Invalid name "9bad": must start with a letter/);
  assert.match(run.stdout, /"7" is not a valid choice/);
  assert.match(run.stdout, /"abc" is not a TCP port/);
  assert.match(run.stdout, /"99999" is not a TCP port/);
  assert.match(run.stdout, /\+ listeners\.Good:/);
  // The script never committed: it is told, and nothing reached the appliance.
  assert.match(run.stdout, /ended with uncommitted changes; they were discarded/);
  assert.match(run.stderr, /uncommitted changes were discarded/);
  assert.deepEqual(await committedListeners(), []);
});

test('a port another listener uses is refused in the dialog, with the reason', async () => {
  const port = await freePort();
  const script = [
    `listenerconfig new First --type public --interface Management --port ${port}`,
    'listenerconfig', 'new', '2', 'Second', '1', String(port), String(port + 1), '',
    'commit two', '',
  ].join('\n');
  const run = await mxgate(home, [], script);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, new RegExp(`port ${port} on interface Management \\(127\\.0\\.0\\.1\\) is already used by listener "First"`));
  assert.deepEqual((await committedListeners()).map((l) => l.name), ['First', 'Second']);
});

test('unknown commands and bad options fail the script but the rest still runs', async () => {
  const run = await mxgate(home, [], 'frobnicate\nLISTENERCONFIG delete Nope\nlistenerconfig new X --colour red\nVERSION\n');
  assert.equal(run.code, 1);
  assert.match(run.stdout, /Unknown command: 'frobnicate'\. Type "help" for a list\./);
  assert.match(run.stdout, /No listener named "Nope"\. Known: First, Second\./);
  assert.match(run.stdout, /Unknown option '--colour'/);
  assert.match(run.stdout, /mxgate version \d+\.\d+\.\d+/);
  assert.match(run.stderr, /line 2: listenerconfig: No listener named "Nope"/);
});

test('sethostname refuses a name that is not a host name', async () => {
  const run = await mxgate(home, ['-c', 'sethostname bad_name!']);
  assert.equal(run.code, 1);
  assert.match(run.stdout, /hostname: is not a valid host name/);
});

test('help lists commands and shows batch forms; commands are case-insensitive', async () => {
  const run = await mxgate(home, ['-c', 'help', '-c', 'Help LISTENERCONFIG']);
  assert.equal(run.code, 0);
  for (const c of ['commit', 'clearchanges', 'showchanges', 'rollbackconfig', 'showconfig', 'saveconfig', 'loadconfig', 'status', 'version', 'interfaceconfig', 'listenerconfig']) {
    assert.match(run.stdout, new RegExp(`^  ${c} `, 'm'));
  }
  assert.match(run.stdout, /listenerconfig new NAME --type public\|private --interface IFNAME --port N/);
});

test('clearchanges drops pending edits; quit with changes says they were discarded', async () => {
  const run = await mxgate(home, [], 'listenerconfig delete First\nclearchanges\nshowchanges\nlistenerconfig delete Second\nquit\nstatus\n');
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /Changes cleared: /);
  assert.match(run.stdout, /No changes have been made\./);
  assert.match(run.stdout, /Warning: Uncommitted changes were discarded\./);
  assert.doesNotMatch(run.stdout, /Status as of/, 'nothing runs after quit');
  assert.deepEqual((await committedListeners()).map((l) => l.name), ['First', 'Second']);
});

test('interfaceconfig dialog and batch forms', async () => {
  const run = await mxgate(home, [], ['interfaceconfig', 'new', 'Loop3', '127.0.0.300', '127.0.0.3', 'mx3.example.com', '', 'interfaceconfig delete Management', 'interfaceconfig list', 'commit', ''].join('\n'));
  assert.equal(run.code, 1);
  assert.match(run.stdout, /Invalid IP address "127\.0\.0\.300"/);
  assert.match(run.stdout, /Interface "Management" is used by listener\(s\) First, Second/);
  assert.match(run.stdout, /2\. Loop3 \(127\.0\.0\.3\/mx3\.example\.com\)/);
  assert.match(run.stdout, /Changes committed/);
});

test('listenerconfig EDIT dialog renames and moves a listener', async () => {
  const port = await freePort();
  const script = ['listenerconfig', 'edit', '2', 'name', 'Relay', 'interface', '1', String(port), '', '', 'showchanges', 'clearchanges', ''].join('\n');
  const run = await mxgate(home, [], script);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /- NAME - Change the name of the listener\./);
  assert.match(run.stdout, new RegExp(`Name: Relay\\nType: Private\\nInterface: Management \\(127\\.0\\.0\\.1\\) TCP Port ${port}\\n`));
  assert.match(run.stdout, /- listeners\.Second:/);
  assert.match(run.stdout, /\+ listeners\.Relay:/);
});
