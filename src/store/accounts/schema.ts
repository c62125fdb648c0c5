import { z } from 'zod';
import { parseAuthorizedKey } from '../../pki/sshKeys.js';

function isUsableKey(line: string): boolean {
  try {
    return parseAuthorizedKey(line).line === line;
  } catch {
    return false;
  }
}

/** The shape of an account in the configuration (operations and hashing: users.ts). */
export const ROLES = ['administrator', 'operator', 'guest'] as const;
export type Role = (typeof ROLES)[number];

const USER_NAME = /^[a-z][a-z0-9._-]{0,31}$/;
export const userName = z.string().regex(USER_NAME, 'must start with a lower-case letter and hold only a-z, 0-9, ".", "_" or "-" (at most 32)');

/** scrypt$<log2 N>$<r>$<p>$<salt base64>$<key base64> */
export const HASH = /^scrypt\$(\d{1,2})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9+/=]{16,})\$([A-Za-z0-9+/=]{40,})$/;

export const UserSchema = z.object({
  name: userName,
  role: z.enum(ROLES),
  passwordHash: z.string().regex(HASH, 'is not a password hash'),
  /** SSH public keys that log in as this account, one OpenSSH authorized_keys line each (sshconfig userkey). */
  sshKeys: z.array(z.string().max(16384).refine(isUsableKey, 'is not a usable SSH public key')).optional(),
});
export type User = z.infer<typeof UserSchema>;

