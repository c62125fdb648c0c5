import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const LOAD = fileURLToPath(new URL('./smtp-load.py', import.meta.url));

export interface LoadResult {
  ops: number;
  rate: number;
  p50: number | null;
  p99: number | null;
  errors: number;
}

/**
 * Run bench/smtp-load.py (its own process) against 127.0.0.1:port; see its header for the modes.
 * `cpus` pins it to those processor cores (taskset -c, e.g. "1").
 */
export function load(port: number, mode: string, options: { concurrency?: number; seconds: number; sizeKb: number; cpus?: string }): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const args = [LOAD, String(port), mode, String(options.concurrency ?? 16), String(options.seconds), String(options.sizeKb)];
    const child = options.cpus ? spawn('taskset', ['-c', options.cpus, 'python3', ...args]) : spawn('python3', args);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`smtp-load.py exited ${code}: ${err}`))));
  });
}
