import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { applianceWithListener, BIN, cleanup, shellOk, stopEngine, TEST_ENV, waitForLog } from '../helpers.js';

/**
 * Silent clients from a few addresses cannot hold a listener for a whole command timeout each:
 * once three quarters of its connections are taken, new sessions get a short command time limit
 * (2 s here through MXGATE_UNDER_LOAD_COMMAND_SECONDS; 10 s by default), as Postfix does under stress.
 */
let home: string;
let port: number;
before(async () => {
  ({ home, port } = await applianceWithListener());
  await shellOk(home, 'listenerconfig edit InboundMail limits --max-concurrency 8 --command-timeout 60', 'listenerconfig edit InboundMail hostaccess default --max-concurrency 8', 'commit "small listener"');
  await stopEngine(home);
  const started = await new Promise<number | null>((resolve) =>
    spawn(process.execPath, [BIN, '--home', home, 'engine', 'start'], { env: { ...TEST_ENV, MXGATE_UNDER_LOAD_COMMAND_SECONDS: '2' }, stdio: 'ignore' }).on('close', resolve),
  );
  assert.equal(started, 0);
});
after(() => cleanup(home));

/** A client that says nothing after the greeting; `heard` has what it was told, `closed` resolves when the server hangs up. */
function silentClient(localAddress: string): Promise<{ socket: net.Socket; heard: () => string; closed: Promise<void> }> {
  return new Promise((resolve) => {
    let heard = '';
    const socket = net.connect({ port, host: '127.0.0.1', localAddress });
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.on('error', () => undefined);
    socket.on('data', (d) => {
      const first = heard === '';
      heard += d.toString();
      if (first) resolve({ socket, heard: () => heard, closed });
    });
  });
}

test('under load, a silent session is closed at the short command limit while earlier ones keep theirs', async () => {
  const early = [];
  for (let i = 0; i < 5; i += 1) early.push(await silentClient(`127.0.0.${40 + i}`));
  const late = await silentClient('127.0.0.46');
  const limit = await Promise.race([late.closed.then(() => 'closed'), new Promise((r) => setTimeout(r, 20_000, 'still open after 20 s'))]);
  assert.equal(limit, 'closed');
  assert.match(late.heard(), /421 4\.4\.2 Command time limit exceeded/);
  await waitForLog(home, /ICID \d+ listener InboundMail is under load: command time limit 2 s for this session/);
  assert.ok(early.every((c) => !c.socket.destroyed && !/421/.test(c.heard())), 'the sessions that started before the load keep their 60 s');
  for (const c of early) c.socket.destroy();
});
