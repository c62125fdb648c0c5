import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { ensureDir, writeFileAtomic } from '../atomic.js';
import type { DataPaths } from '../paths.js';

/**
 * What this machine knows of its cluster, on its own disk (cluster/ in the data directory, 0700):
 * which cluster, its own name and etcd addresses, the cluster CA and its member certificate
 * (keys 0600), and the secrets only members hold. Absent: the machine is standalone.
 */
export interface Membership {
  cluster: string;
  machine: string;
  /** This member's etcd peer address (IP) and ports; its client port serves the engines. */
  ip: string;
  peerPort: number;
  clientPort: number;
  /** Every member's client URL known at the last change (the engine connects to all of them). */
  endpoints: string[];
}

export interface MemberSecrets {
  /** Hex: seals private keys and other secrets kept in etcd. */
  clusterKey: string;
  /** etcd's root account, shared by the members' engines. */
  rootPassword: string;
  caCertificate: string;
  caKey: string;
  memberCertificate: string;
  memberKey: string;
}

export const clusterDir = (paths: DataPaths) => path.join(paths.home, 'cluster');
export const etcdDataDir = (paths: DataPaths) => path.join(clusterDir(paths), 'etcd');
export const tlsDir = (paths: DataPaths) => path.join(clusterDir(paths), 'tls');
const membershipFile = (paths: DataPaths) => path.join(clusterDir(paths), 'membership.json');
const secretsFile = (paths: DataPaths) => path.join(clusterDir(paths), 'secrets.json');

export async function readMembership(paths: DataPaths): Promise<{ membership: Membership; secrets: MemberSecrets } | undefined> {
  let text: string;
  try {
    text = await readFile(membershipFile(paths), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return { membership: JSON.parse(text) as Membership, secrets: JSON.parse(await readFile(secretsFile(paths), 'utf8')) as MemberSecrets };
}

/** Write the secrets first: a membership file always has its secrets beside it. */
export async function writeMembership(paths: DataPaths, membership: Membership, secrets: MemberSecrets): Promise<void> {
  await ensureDir(clusterDir(paths));
  await ensureDir(tlsDir(paths));
  await writeFileAtomic(secretsFile(paths), JSON.stringify(secrets, null, 2) + '\n', 0o600);
  // etcd reads its certificate and key from files.
  await writeFileAtomic(path.join(tlsDir(paths), 'ca.pem'), secrets.caCertificate, 0o600);
  await writeFileAtomic(path.join(tlsDir(paths), 'member.pem'), secrets.memberCertificate + secrets.caCertificate, 0o600);
  await writeFileAtomic(path.join(tlsDir(paths), 'member-key.pem'), secrets.memberKey, 0o600);
  await writeFileAtomic(membershipFile(paths), JSON.stringify(membership, null, 2) + '\n', 0o600);
}

/** Leaving: the cluster's files go; the configuration the machine last applied stays as its own. */
export async function removeMembership(paths: DataPaths): Promise<void> {
  await rm(membershipFile(paths), { force: true });
  await rm(clusterDir(paths), { recursive: true, force: true });
}
