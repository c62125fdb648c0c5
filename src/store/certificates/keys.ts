import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { keyId, parsePrivateKey } from '../../pki/certificate.js';
import { ensureDir, writeFileAtomic } from '../atomic.js';
import type { DataPaths } from '../paths.js';
import { parseTsigKey, tsigKeyRef, tsigKeyText, type TsigKeyFile } from '../network/updateServers.js';
import type { CertificateProfile, Config } from '../schema.js';
import { presentedProfile } from './certificates.js';

/** keys/ holds the appliance's credentials: private keys (<ref>.pem) and TSIG keys (tsig-<ref>.key), all 0600. */
const keyFile = (paths: DataPaths, ref: string) => path.join(paths.keys, ref.startsWith('tsig-') ? `${ref}.key` : `${ref}.pem`);

/**
 * Every credential `config` refers to, with what it belongs to: the private keys of the certificate
 * profiles, the TSIG keys of the update servers and the ACME account's key. saveconfig exports these, a cluster seals them
 * into etcd, and clustercheck reports those the cluster does not hold.
 */
export function credentialRefs(config: Config): { ref: string; owner: string }[] {
  const all = [
    ...config.certificates.map((c) => ({ ref: c.keyRef, owner: `the private key of certificate profile "${c.name}"` })),
    ...config.dns.updateServers.map((u) => ({ ref: u.keyRef, owner: `the TSIG key of update server ${u.zone}` })),
    ...(config.acme.account ? [{ ref: config.acme.account.keyRef, owner: `the key of ACME account ${config.acme.account.url}` }] : []),
  ];
  return all.filter((c, i) => all.findIndex((x) => x.ref === c.ref) === i);
}

/** Keep a TSIG key in keys/tsig-<ref>.key (0600) and return its reference. */
export async function storeTsigKey(paths: DataPaths, key: TsigKeyFile): Promise<string> {
  const ref = tsigKeyRef(key);
  await ensureDir(paths.keys);
  await writeFileAtomic(keyFile(paths, ref), tsigKeyText(key), 0o600);
  return ref;
}

export async function readTsigKey(paths: DataPaths, ref: string): Promise<TsigKeyFile> {
  return parseTsigKey(await readKey(paths, ref));
}

/**
 * Keep a credential that came from elsewhere (a saved configuration, the cluster) under the reference
 * it came with; false (nothing written) when the text does not belong to that reference.
 */
export async function storeCredential(paths: DataPaths, ref: string, text: string): Promise<boolean> {
  if (ref.startsWith('tsig-')) {
    const key = parseTsigKey(text);
    return tsigKeyRef(key) === ref && (await storeTsigKey(paths, key)) === ref;
  }
  if (keyId(parsePrivateKey(text)) !== ref) return false;
  return (await storeKey(paths, text)) === ref;
}

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
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`the ${ref.startsWith('tsig-') ? 'TSIG key' : 'private key'} ${ref.slice(0, 21)}… is missing from ${paths.keys}`);
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
