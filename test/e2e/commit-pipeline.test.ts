import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { accepts, applianceWithListener, cleanup, freePort, LiveShell, mxgate, sendMail } from '../helpers.js';

let home: string;
let port: number;
const current = async () => JSON.parse(await readFile(path.join(home, 'config', 'current.json'), 'utf8'));

before(async () => {
  ({ home, port } = await applianceWithListener());
});
after(() => cleanup(home));

test('a commit on a stale base is refused and the session keeps its draft', async () => {
  const shell = new LiveShell(home, ['--keep-going']);
  try {
    const otherPort = await freePort();
    shell.send(`listenerconfig new Mine --type private --interface Management --port ${otherPort}`);
    await shell.waitFor(/Listener Mine created/);

    // Another administrator commits first.
    const theirs = await mxgate(home, ['-c', 'interfaceconfig new Loop2 --ip 127.0.0.2', '-c', 'commit "someone else"']);
    assert.equal(theirs.code, 0, theirs.stdout + theirs.stderr);
    const versionAfterTheirs = (await current()).version;

    let mark = shell.output.length;
    shell.send('commit "mine"');
    await shell.waitFor(/Commit refused: .*committed by .* \(version \d+\) after your changes were started/, mark);
    assert.equal((await current()).version, versionAfterTheirs, 'nothing was recorded');
    assert.equal(await accepts(otherPort), false, 'nothing was applied');

    mark = shell.output.length;
    shell.send('showchanges');
    await shell.waitFor(/listener Mine added: /, mark);

    // clearchanges re-bases the session on the newest version; the edit can then be redone.
    mark = shell.output.length;
    shell.send('clearchanges');
    shell.send(`listenerconfig new Mine --type private --interface Management --port ${otherPort}`);
    shell.send('commit "mine again"');
    await shell.waitFor(/Changes committed: .*\(version \d+\)/, mark);
    assert.ok(await accepts(otherPort));
    const code = await shell.end();
    assert.equal(code, 1, 'the refused commit makes the script fail');
  } finally {
    shell.child.kill();
  }
  const c = await current();
  assert.deepEqual(c.config.interfaces.map((i: { name: string }) => i.name), ['Management', 'Loop2']);
  assert.equal(c.comment, 'mine again');
});

test('a session behind the committed configuration: without edits it follows at once; with edits it is told before it builds more', async () => {
  const shell = new LiveShell(home, ['--keep-going']);
  try {
    shell.send('showchanges');
    await shell.waitFor(/No changes have been made/);
    const other = await mxgate(home, ['-c', 'sethostname follow.example', '-c', 'commit "other session"']);
    assert.equal(other.code, 0, other.stdout + other.stderr);
    // No pending edits: this session moves to the newest version, so its commit is not refused.
    let mark = shell.output.length;
    shell.send('sethostname mine.example');
    shell.send('commit "mine"');
    await shell.waitFor(/Changes committed/, mark);
    assert.doesNotMatch(shell.output.slice(mark), /Commit refused/);
    // Pending edits when another commit lands: said at the next command, once.
    mark = shell.output.length;
    shell.send('sethostname pending.example');
    await shell.waitFor(/The host name will be pending\.example after "commit"/, mark);
    const third = await mxgate(home, ['-c', 'sethostname third.example', '-c', 'commit "third"']);
    assert.equal(third.code, 0);
    const version = (await current()).version;
    mark = shell.output.length;
    shell.send('showchanges');
    shell.send('showchanges');
    await shell.waitFor(/hostname/, mark);
    await new Promise((r) => setTimeout(r, 300));
    const said = shell.output.slice(mark).match(new RegExp(`Version ${version} was committed by another session after this one started from version ${version - 1}; your pending changes are based on the older one and "commit" will be refused\\. "showchanges" lists them; "clearchanges" starts again from version ${version}\\.`, 'g'));
    assert.equal(said?.length, 1, shell.output.slice(mark));
    shell.send('clearchanges');
  } finally {
    await shell.end();
  }
});

test('a failed apply (port already bound) is reported and the old configuration keeps running', async () => {
  const blocker = net.createServer();
  const busy = await freePort();
  await new Promise<void>((resolve) => blocker.listen(busy, '127.0.0.1', resolve));
  try {
    const before = await current();
    const run = await mxgate(home, [
      '--keep-going',
      '-c', `listenerconfig edit InboundMail --port ${busy}`,
      '-c', 'commit "move to a busy port"',
      '-c', 'status',
    ]);
    assert.equal(run.code, 1);
    assert.match(run.stdout, new RegExp(`Commit failed: Listener "InboundMail" cannot start: 127\\.0\\.0\\.1 port ${busy} is already in use by another program`));
    assert.match(run.stdout, new RegExp(`The appliance is still running version ${before.version}`));
    assert.match(run.stdout, new RegExp(`InboundMail \\(Public\\) on Management 127\\.0\\.0\\.1 port ${port}: listening`));
    assert.match(run.stderr, /mxgate: -c argument 2: commit: Commit failed/);
    assert.deepEqual(await current(), before, 'store stays on the old version');
    const { response } = await sendMail(port, 'still running');
    assert.match(response, /^250 /);
  } finally {
    blocker.close();
  }
});

test('a failed apply (address not on this machine) leaves everything as it was', async () => {
  const before = await current();
  const spare = await freePort();
  const run = await mxgate(home, [
    '-c', 'interfaceconfig new Elsewhere --ip 192.0.2.10',
    '-c', `listenerconfig new Remote --type public --interface Elsewhere --port ${spare}`,
    '-c', 'commit',
  ]);
  assert.equal(run.code, 1);
  assert.match(run.stdout, /Listener "Remote" cannot start: address 192\.0\.2\.10 is not configured on this machine/);
  assert.deepEqual(await current(), before);
  assert.ok(await accepts(port));
});

test('a commit with nothing pending says so and records nothing', async () => {
  const before = await current();
  const run = await mxgate(home, ['-c', 'commit']);
  assert.equal(run.code, 0);
  assert.match(run.stdout, /There is no data to commit\./);
  assert.equal((await current()).version, before.version);
});
