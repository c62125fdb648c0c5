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

export const KINDS = [
  { type: 'ssh-ed25519', file: 'ssh_host_ed25519_key', bits: 256, algorithm: 'ed25519', options: {} },
  { type: 'ssh-rsa', file: 'ssh_host_rsa_key', bits: 3072, algorithm: 'rsa', options: { bits: 3072 } },
] as const;

type Generate = (type: string, options: object) => Promise<{ private: string; public: string }>;
const generateKeyPair = promisify(ssh2.utils.generateKeyPair) as Generate;

type Kind = (typeof KINDS)[number];

/** The key in `text`, if it is one private key of this kind that ssh2 can use. */
function parsedAs(kind: Kind, text: string) {
  const parsed = ssh2.utils.parseKey(text);
  return parsed instanceof Error || Array.isArray(parsed) || parsed.type !== kind.type ? undefined : parsed;
}

/**
 * A new host key pair. ssh2 1.17's generateKeyPair drops the leading zero byte of an Ed25519 public
 * key, so about one key in 256 is written in a form its own parser refuses ("Malformed OpenSSH
 * private key"): the engine's first start then failed. Such a pair is made again, never stored.
 */
export async function newHostKey(kind: Kind, generate: Generate = generateKeyPair): Promise<{ private: string; public: string }> {
  for (let attempt = 0; attempt < 8; attempt += 1) {
    const pair = await generate(kind.algorithm, { ...kind.options, comment: 'mxgate host key' });
    if (parsedAs(kind, pair.private)) return pair;
  }
  throw new Error(`no usable ${kind.type} host key could be made`);
}

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
      const pair = await newHostKey(kind);
      await writeFileAtomic(file, pair.private, 0o600);
      await writeFileAtomic(`${file}.pub`, `${pair.public}\n`, 0o644);
      text = pair.private;
    }
    if (((await stat(file)).mode & 0o077) !== 0) throw new Error(`SSH host key ${file} is readable by others; make it mode 0600 (chmod 600).`);
    const parsed = parsedAs(kind, text);
    if (!parsed) throw new Error(`SSH host key ${file} is not one ${kind.type} private key.`);
    keys.push({ type: kind.type, bits: kind.bits, privateKey: text, fingerprint: fingerprintOf(parsed.getPublicSSH()) });
  }
  return keys;
}
