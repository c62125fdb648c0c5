import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ensureDir, writeFileAtomic } from '../atomic.js';
import type { DataPaths } from '../paths.js';

/**
 * Replacement system CA bundles (certconfig certauthority system update), kept by content:
 * ca/<sha256>.pem is never rewritten or removed, so every committed version finds its bundle.
 */
const bundleDir = (paths: DataPaths) => path.join(paths.home, 'ca');

export async function storeBundle(paths: DataPaths, certificates: string[]): Promise<string> {
  const text = certificates.join('');
  const sha256 = createHash('sha256').update(text).digest('hex');
  await ensureDir(bundleDir(paths));
  await writeFileAtomic(path.join(bundleDir(paths), `${sha256}.pem`), text, 0o600);
  return sha256;
}

export async function readBundle(paths: DataPaths, sha256: string): Promise<string[]> {
  const text = await readFile(path.join(bundleDir(paths), `${sha256}.pem`), 'utf8');
  return text.split(/(?<=-----END CERTIFICATE-----\n)/).filter((c) => c.includes('BEGIN CERTIFICATE'));
}
