import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { keyId, parsePrivateKey } from '../../pki/certificate.js';
import { ensureDir, writeFileAtomic } from '../atomic.js';
import type { DataPaths } from '../paths.js';
import type { CertificateProfile, Config } from '../schema.js';
import { presentedProfile } from './certificates.js';

const keyFile = (paths: DataPaths, ref: string) => path.join(paths.keys, `${ref}.pem`);

/**
 * Keep a private key in keys/<ref>.pem (mode 0600, written atomically) and return its reference,
 * the SHA-256 of its public key. The same key always gets the same file.
 */
export async function storeKey(paths: DataPaths, privateKeyPem: string): Promise<string> {
  const key = parsePrivateKey(privateKeyPem);
  const ref = keyId(key);
  await ensureDir(paths.keys);
  await writeFileAtomic(keyFile(paths, ref), key.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600);
  return ref;
}

export async function readKey(paths: DataPaths, ref: string): Promise<string> {
  try {
    return await readFile(keyFile(paths, ref), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`the private key ${ref.slice(0, 16)}… is missing from ${paths.keys}`);
    throw err;
  }
}

/**
 * What a service that names certificate profile `name` (null: none) presents: the profile (or the
 * demonstration certificate), its private key and leaf + intermediates; undefined when there is none.
 * Listeners, the HTTPS interface and delivery's client certificate all load theirs here.
 */
export async function presentedCredentials(paths: DataPaths, config: Config, name: string | null): Promise<{ profile: string; key: string; cert: string } | undefined> {
  const profile = presentedProfile(config, name);
  return profile && { profile: profile.name, ...(await tlsCredentials(paths, profile)) };
}

/** What a TLS endpoint presents for a certificate profile: its private key, and leaf + intermediates. */
export async function tlsCredentials(paths: DataPaths, profile: Pick<CertificateProfile, 'keyRef' | 'certificate' | 'intermediates'>): Promise<{ key: string; cert: string }> {
  return { key: await readKey(paths, profile.keyRef), cert: profile.certificate + profile.intermediates.join('') };
}
