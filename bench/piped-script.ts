/** Prints the wall time of a piped script of 200 shell commands (edits, listings, one commit). */
import { performance } from 'node:perf_hooks';
import { cleanup, mxgate, tempHome } from '../test/helpers.js';

const home = await tempHome();
try {
  await mxgate(home, ['engine', 'start']);
  const lines: string[] = [];
  for (let i = 0; lines.length < 198; i++) {
    lines.push(`interfaceconfig new If${i} --ip 127.0.${Math.floor(i / 250) + 1}.${(i % 250) + 1}`);
    lines.push(`listenerconfig new L${i} --type private --interface If${i} --port ${20000 + i}`);
    lines.push('showchanges');
  }
  lines.length = 198;
  lines.push('listenerconfig list', 'status');
  const t0 = performance.now();
  const run = await mxgate(home, [], lines.join('\n') + '\n');
  const ms = performance.now() - t0;
  if (run.code !== 0) throw new Error(`script failed:\n${run.stderr}`);
  console.log(`piped script of ${lines.length} commands (no commit): ${ms.toFixed(0)} ms, ${(ms / lines.length).toFixed(2)} ms per command`);

  const t1 = performance.now();
  const withCommit = await mxgate(home, [], lines.slice(0, 199).join('\n') + '\ncommit bench\n');
  const ms2 = performance.now() - t1;
  if (withCommit.code !== 0) throw new Error(`script failed:\n${withCommit.stdout}\n${withCommit.stderr}`);
  console.log(`piped script of 200 commands ending in a commit of ~66 listeners: ${ms2.toFixed(0)} ms`);
} finally {
  await cleanup(home);
}
