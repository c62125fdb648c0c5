import { createHash } from 'node:crypto';
import ssh2, { type ParsedKey } from 'ssh2';

const { utils } = ssh2;
import { UserError } from '../userError.js';

/** An SSH public key line that cannot be used, and why. */
export class SshKeyError extends UserError {
  override name = 'SshKeyError';
}

/** Key types accounts may log in with: no DSA, no RSA under 2048 bits (RSA signs with SHA-2 only). */
const ACCEPTED = new Set(['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa']);
const MIN_RSA_BITS = 2048;

export interface SshPublicKey {
  type: string;
  /** Bits of the key (RSA modulus; the curve size otherwise). */
  bits: number;
  comment: string;
  /** OpenSSH's form: SHA256:<base64 without padding>. */
  fingerprint: string;
  /** The key as one authorized_keys line: type, base64 blob and comment. */
  line: string;
}

/** `SHA256:…` of a public key blob, as `ssh-keygen -l` and the OpenSSH client print it. */
export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The SSH wire strings at the start of a public key blob (type name, then the key's fields). */
function wireStrings(blob: Buffer, count: number): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (out.length < count && at + 4 <= blob.length) {
    const len = blob.readUInt32BE(at);
    out.push(blob.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return out;
}

function bitsOf(type: string, blob: Buffer): number {
  if (type === 'ssh-rsa') {
    const n = wireStrings(blob, 3)[2] ?? Buffer.alloc(0);
    let i = 0;
    while (i < n.length && n[i] === 0) i++;
    return n.length === i ? 0 : (n.length - i - 1) * 8 + (32 - Math.clz32(n[i]!));
  }
  if (type === 'ssh-ed25519') return 256;
  return Number(/nistp(\d+)$/.exec(type)?.[1] ?? 0);
}

/**
 * One line of an OpenSSH authorized_keys file: `type base64 [comment]`. Option prefixes
 * (from=, command=) are refused rather than ignored, because mxgate would not enforce them.
 */
export function parseAuthorizedKey(text: string): SshPublicKey {
  const line = text.trim();
  if (line === '' || line.includes('\n')) throw new SshKeyError('Give one public key on one line ("ssh-ed25519 AAAA… comment").');
  if (/PRIVATE KEY/.test(line)) throw new SshKeyError('That is a private key; give the public key (the .pub file, one line).');
  const words = line.split(/\s+/);
  if (!/^(ssh-|ecdsa-|sk-)/.test(words[0]!)) {
    throw new SshKeyError(`"${words[0]!.slice(0, 40)}" is not a key type; authorized_keys options such as from= or command= are not supported, give the key alone.`);
  }
  const [type, base64, ...comment] = words;
  if (!ACCEPTED.has(type!)) throw new SshKeyError(`Key type ${type} is not accepted; use ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa of at least ${MIN_RSA_BITS} bits.`);
  if (!base64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) throw new SshKeyError('The key has no base64 part after its type.');
  const parsed = utils.parseKey(`${type} ${base64}`);
  if (parsed instanceof Error || Array.isArray(parsed)) throw new SshKeyError(`The ${type} key cannot be read: ${parsed instanceof Error ? parsed.message : 'more than one key'}.`);
  if (parsed.type !== type) throw new SshKeyError(`The key says it is ${type} but holds a ${parsed.type} key.`);
  const blob = parsed.getPublicSSH();
  const bits = bitsOf(type!, blob);
  if (type === 'ssh-rsa' && bits < MIN_RSA_BITS) throw new SshKeyError(`This RSA key has ${bits} bits; at least ${MIN_RSA_BITS} are needed.`);
  const note = comment.join(' ');
  return { type: type!, bits, comment: note, fingerprint: fingerprintOf(blob), line: `${type} ${base64}${note ? ` ${note}` : ''}` };
}

/** The parsed form ssh2 checks signatures with. */
export function verifierOf(line: string): ParsedKey {
  const parsed = utils.parseKey(line.split(/\s+/).slice(0, 2).join(' '));
  if (parsed instanceof Error || Array.isArray(parsed)) throw new SshKeyError('stored key cannot be read');
  return parsed;
}
