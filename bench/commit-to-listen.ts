/**
 * Prints the time from `commit` (the shell command) to the listener accepting connections, and the
 * engine's own share of it (control-socket commit round trip). Figures only; nothing is asserted.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { request } from '../src/control/client.js';
import { addListener } from '../src/store/listeners/listeners.js';
import { cleanup, freePort, mxgate, tempHome } from '../test/helpers.js';

const ROUNDS = 10;

function waitAccepting(port: number): Promise<void> {
  return new Promise((resolve) => {
    const attempt = () => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => setImmediate(attempt));
    };
    attempt();
  });
}

const home = await tempHome();
try {
  await mxgate(home, ['engine', 'start']);
  const socket = `${home}/run/control.sock`;
  const viaShell: number[] = [];
  const viaSocket: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const port = await freePort();
    const t0 = performance.now();
    const shellRun = mxgate(home, ['-c', `listenerconfig new B${i} --type public --interface Management --port ${port}`, '-c', 'commit']);
    await waitAccepting(port);
    viaShell.push(performance.now() - t0);
    await shellRun;

    const head = await request(socket, 'config');
    const port2 = await freePort();
    const next = addListener(head.config, { name: `S${i}`, type: 'private', interface: 'Management', port: port2 });
    const t1 = performance.now();
    await request(socket, 'commit', { baseVersion: head.version, config: next, comment: 'bench', user: 'bench' });
    await waitAccepting(port2);
    viaSocket.push(performance.now() - t1);
  }
  const stats = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return `median ${s[Math.floor(s.length / 2)]!.toFixed(1)} ms, min ${s[0]!.toFixed(1)} ms, max ${s[s.length - 1]!.toFixed(1)} ms`;
  };
  console.log(`commit -> listener accepting, whole shell process (mxgate -c ... -c commit): ${stats(viaShell)} over ${ROUNDS} rounds`);
  console.log(`commit -> listener accepting, control socket only (validate, bind, fsync, record): ${stats(viaSocket)} over ${ROUNDS} rounds`);
} finally {
  await cleanup(home);
}
