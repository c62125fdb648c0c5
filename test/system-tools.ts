import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/**
 * The system tools the tests run, each with the Debian package that provides it (.ci/run installs
 * them). `tool(name)` gives the tool's path, or fails the test with one line naming the package
 * instead of the tool's own ENOENT.
 */
const PACKAGES: Record<string, string> = {
  chromium: 'chromium',
  delv: 'bind9-dnsutils',
  etcd: 'etcd-server',
  etcdctl: 'etcd-client',
  knotd: 'knot',
  'ldns-key2ds': 'ldnsutils',
  'ldns-keygen': 'ldnsutils',
  'ldns-signzone': 'ldnsutils',
  nsd: 'nsd',
  openssl: 'openssl',
  pebble: 'pebble',
  postfix: 'postfix',
  'posttls-finger': 'postfix',
  script: 'bsdutils',
  ssh: 'openssh-client',
  'ssh-keygen': 'openssh-client',
  'ssh-keyscan': 'openssh-client',
  swaks: 'swaks',
  testssl: 'testssl.sh',
  unbound: 'unbound',
  unshare: 'util-linux',
};

const SEARCH = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/sbin'].filter(Boolean);
const found = new Map<string, string>();

export class MissingTool extends Error {}

/** The absolute path of a system tool the tests need; throws one line naming its package when it is missing. */
export function tool(name: string, search = SEARCH): string {
  const known = found.get(name);
  if (known && search === SEARCH) return known;
  for (const dir of search) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      found.set(name, candidate);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  const pkg = PACKAGES[name];
  throw new MissingTool(`${name} is not installed: apt-get install ${pkg ?? `the package that provides ${name}`}`);
}
