import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import ssh2 from 'ssh2';
import { writeFileAtomic } from '../store/atomic.js';
import type { DataPaths } from '../store/paths.js';
import { fingerprintOf } from '../pki/sshKeys.js';

export interface HostKey {
  type: 'ssh-ed25519' | 'ssh-rsa';
  bits: number;
  /** OpenSSH private key text, for ssh2's Server. */
  privateKey: string;
  fingerprint: string;
}

const KINDS = [
  { type: 'ssh-ed25519', file: 'ssh_host_ed25519_key', bits: 256, algorithm: 'ed25519', options: {} },
  { type: 'ssh-rsa', file: 'ssh_host_rsa_key', bits: 3072, algorithm: 'rsa', options: { bits: 3072 } },
] as const;

const generateKeyPair = promisify(ssh2.utils.generateKeyPair) as (type: string, options: object) => Promise<{ private: string; public: string }>;

/**
 * The SSH host keys (Ed25519 and RSA-3072) in keys/, made on the engine's first start and kept
 * across restarts and commits, so clients see one host identity. Owner-only (0600); nothing is
 * shipped. A key file that cannot be read is an error, never silently replaced: a new host key
 * would make every client warn of a man in the middle.
 */
export async function loadHostKeys(paths: DataPaths): Promise<HostKey[]> {
  const keys: HostKey[] = [];
  for (const kind of KINDS) {
    const file = path.join(paths.keys, kind.file);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`SSH host key ${file} cannot be read: ${(err as Error).message}`);
      const pair = await generateKeyPair(kind.algorithm, { ...kind.options, comment: 'mxgate host key' });
      await writeFileAtomic(file, pair.private, 0o600);
      await writeFileAtomic(`${file}.pub`, `${pair.public}\n`, 0o644);
      text = pair.private;
    }
    if (((await stat(file)).mode & 0o077) !== 0) throw new Error(`SSH host key ${file} is readable by others; make it mode 0600 (chmod 600).`);
    const parsed = ssh2.utils.parseKey(text);
    if (parsed instanceof Error || Array.isArray(parsed) || parsed.type !== kind.type) throw new Error(`SSH host key ${file} is not one ${kind.type} private key.`);
    keys.push({ type: kind.type, bits: kind.bits, privateKey: text, fingerprint: fingerprintOf(parsed.getPublicSSH()) });
  }
  return keys;
}
