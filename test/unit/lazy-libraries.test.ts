import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';

/**
 * The engine's memory: libraries only a cluster (etcd3 with gRPC), ACME (acme-client with axios) or
 * a legacy PKCS#12 file (node-forge) uses are loaded when used, not with the engine (together ~10 MB
 * of heap kept live, and marked by every full collection).
 */
test('loading the engine loads neither etcd3 / gRPC, acme-client / axios nor node-forge', async () => {
  const script = [
    "await import('./src/engine/engine.ts');",
    "const { createRequire } = await import('node:module');",
    'const loaded = Object.keys(createRequire(import.meta.url).cache);',
    "console.log(JSON.stringify({ all: loaded.length, heavy: loaded.filter((p) => /node_modules\\/(etcd3|@grpc|acme-client|axios|node-forge)\\//.test(p)) }));",
  ].join('\n');
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: new URL('../..', import.meta.url) });
  const { all, heavy } = JSON.parse(stdout.trim().split('\n').at(-1)!) as { all: number; heavy: string[] };
  assert.ok(all > 50, `the engine's own CommonJS dependencies are seen (${all})`);
  assert.deepEqual(heavy, []);
});
