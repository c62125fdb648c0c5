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
  assert.match(run.stdout, /line 4: Input ended in the middle of "listenerconfig" \(started at line 1\); that operation was abandoned and nothing was changed\./);
  assert.doesNotMatch(run.stdout, /uncommitted changes/);
  assert.deepEqual(await committedListeners(), []);
});

test('on a pipe an invalid answer fails the dialog at its own line; nothing after it runs', async () => {
  const port = await freePort();
  const bad = await mxgate(home, [], ['listenerconfig', 'new', 'public', '9bad', 'Good', '1', String(port), '', 'commit "never"', ''].join('\n'));
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /line 4: listenerconfig: .*"9bad": Invalid name "9bad": must start with a letter/);
  assert.match(bad.stderr, /Stopped at line 4: nothing after it ran/);
  assert.doesNotMatch(bad.stdout, /Changes committed/);
  const port2 = await freePort();
  const script = ['listenerconfig', 'new', 'public', 'Good', '1', String(port2), 'example.com', '', '', 'showchanges', ''].join('\n');
  const run = await mxgate(home, [], script);
  assert.equal(run.code, 0, run.stdout);
  assert.match(run.stdout, /listener Good added: Public/);
  // The script never committed: it is told, and nothing reached the appliance.
  assert.match(run.stdout, /ended with uncommitted changes; they were discarded/);
  assert.match(run.stderr, /uncommitted changes were discarded/);
  assert.deepEqual(await committedListeners(), []);
});

test('a port another listener uses is refused in the dialog, with the reason', async () => {
  const port = await freePort();
  const first = await mxgate(home, [], [`listenerconfig new First --type public --interface Management --port ${port}`, 'commit one', ''].join('\n'));
  assert.equal(first.code, 0, first.stdout + first.stderr);
  const taken = await mxgate(home, [], ['listenerconfig', 'new', '2', 'Second', '1', String(port), '', 'commit two', ''].join('\n'));
  assert.equal(taken.code, 1);
  assert.match(taken.stderr, new RegExp(`line 6: listenerconfig: [\\s\\S]*port ${port} on interface Management \\(127\\.0\\.0\\.1\\) is already used by listener "First"`));
  // Another free port, not port + 1: on a busy machine that one may be some connection's ephemeral port.
  const other = await freePort();
  const run = await mxgate(home, [], ['listenerconfig', 'new', '2', 'Second', '1', String(other), '', '', '', 'commit two', ''].join('\n'));
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.deepEqual((await committedListeners()).map((l) => l.name), ['First', 'Second']);
});

test('unknown commands and bad options: a script stops at the first; with --keep-going the rest still runs', async () => {
  const input = 'frobnicate\nLISTENERCONFIG delete Nope\nlistenerconfig new X --colour red\nVERSION\n';
  const stop = await mxgate(home, [], input);
  assert.equal(stop.code, 1);
  assert.match(stop.stderr, /line 1: Unknown command: 'frobnicate'\. Type "help" for a list\./);
  assert.doesNotMatch(stop.stdout, /mxgate version/);
  const run = await mxgate(home, ['--keep-going'], input);
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
  assert.match(run.stdout, /sethostname: "bad_name!" is not a host name: use letters, digits, "-" and "." only\./);
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
  const bad = await mxgate(home, [], ['interfaceconfig', 'new', 'Loop3', '127.0.0.300', 'mx3.example.com', ''].join('\n'));
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /line 4: interfaceconfig: .*"127\.0\.0\.300" is not an IPv4 or IPv6 address/);
  const run = await mxgate(home, ['--keep-going'], ['interfaceconfig', 'new', 'Loop3', '127.0.0.3', 'mx3.example.com', '', 'interfaceconfig delete Management', 'interfaceconfig list', 'commit', ''].join('\n'));
  assert.equal(run.code, 1);
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
  assert.match(run.stdout, /\n {2}listener Second deleted\n/);
  assert.match(run.stdout, /\n {2}listener Relay added: Private on Management/);
});

test('output into a pipe that closes early (| head) ends quietly: no EPIPE trace', async () => {
  const { spawn } = await import('node:child_process');
  const { BIN, TEST_ENV } = await import('../helpers.js');
  const child = spawn(process.execPath, [BIN, '--home', home, '-c', 'help sslconfig', '-c', 'help destconfig', '-c', 'help listenerconfig'], { env: TEST_ENV });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.destroy(); // the reader is gone before the first line is written
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.doesNotMatch(stderr, /EPIPE|Unhandled|at .*\.js:\d+/, stderr);
  assert.equal(code, 0);
});
