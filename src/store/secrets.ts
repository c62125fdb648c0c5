import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { SECRET_FIELD_NAMES } from './schema.js';

/** What a masked secret looks like in showconfig and in a saveconfig file. */
export const MASK = '*****';
const ENC_PREFIX = 'enc:v1:';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Copy of `doc` with every secret field replaced by what `replace` returns. */
export function mapSecrets(doc: unknown, replace: (value: string, field: string) => string): unknown {
  if (Array.isArray(doc)) return doc.map((v) => mapSecrets(v, replace));
  if (doc !== null && typeof doc === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(doc)) {
      out[k] = SECRET_FIELD_NAMES.has(k) && typeof v === 'string' ? replace(v, k) : mapSecrets(v, replace);
    }
    return out;
  }
  return doc;
}

export const maskSecrets = (doc: unknown): unknown => mapSecrets(doc, () => MASK);

export function containsMaskedSecret(doc: unknown): boolean {
  let found = false;
  mapSecrets(doc, (v) => {
    if (v === MASK) found = true;
    return v;
  });
  return found;
}

/** Passphrase-derived key for encrypting secrets in an exported configuration (AES-256-GCM). */
export class SecretBox {
  private constructor(
    private readonly key: Buffer,
    readonly salt: string,
  ) {}

  static create(passphrase: string): SecretBox {
    const salt = randomBytes(16).toString('base64');
    return new SecretBox(SecretBox.derive(passphrase, salt), salt);
  }

  static open(passphrase: string, salt: string): SecretBox {
    return new SecretBox(SecretBox.derive(passphrase, salt), salt);
  }

  private static derive(passphrase: string, salt: string): Buffer {
    return scryptSync(passphrase, Buffer.from(salt, 'base64'), 32, { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
  }

  encrypt(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ENC_PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  /** Throws when the passphrase is wrong or the value was altered. */
  decrypt(value: string): string {
    if (!value.startsWith(ENC_PREFIX)) throw new Error('not an encrypted value');
    const raw = Buffer.from(value.slice(ENC_PREFIX.length), 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }
}

export type { Json };
