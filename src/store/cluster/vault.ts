import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { UserError } from '../../userError.js';

/**
 * Secrets that travel through etcd (private keys, the join bundle) are sealed with AES-256-GCM:
 * etcd and anyone who reads its keys or its disk see only ciphertext. The cluster key is 32 random
 * bytes that only members hold (cluster/secrets.json, 0600); a join bundle is sealed with a key
 * derived from the token's secret, so only the holder of the token can open it.
 */
const PREFIX = 'sealed:v1:';

export function seal(key: Buffer, plain: string, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

export function unseal(key: Buffer, sealed: string, context: string): string {
  if (!sealed.startsWith(PREFIX)) throw new UserError(`${context}: not a sealed value`);
  const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    throw new UserError(`${context}: cannot be opened with this key (wrong cluster key or token, or damaged)`);
  }
}

/** The key a join token's secret opens its bundle with. */
export const tokenKey = (secret: string): Buffer => Buffer.from(hkdfSync('sha256', secret, 'mxgate-cluster-join', 'join bundle', 32));

export const newClusterKey = (): Buffer => randomBytes(32);
