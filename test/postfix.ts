import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './helpers.js';
import { tool } from './system-tools.js';

/**
 * A private Postfix instance as a receiving peer for the interop suite (Debian's postfix package,
 * run as root; .ci/run installs it). Its own configuration, queue and log under a temporary
 * directory; smtpd on 127.0.0.1:<free port> only; every address of `domain` is delivered by the
 * virtual agent into one Maildir. Nothing in it looks up names in DNS, and nothing of the machine's
 * own Postfix setup (/etc/postfix/main.cf, master.cf, a running system Postfix) is read or touched.
 */

const run = promisify(execFile);

export interface Postfix {
  port: number;
  /** The delivered messages (Maildir new/), oldest first. */
  messages(): Promise<string[]>;
  /** Postfix's own log (maillog_file). */
  log(): Promise<string>;
  /** Run a Postfix command (postconf, postqueue, postsuper, postfix) on this instance. */
  command(name: string, ...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/**
 * `resolvConf`: run the instance in a private mount namespace where that file is /etc/resolv.conf
 * (a test's validating resolver on port 53), as a sender that looks names up.
 */
export async function startPostfix(options: { domain: string; hostname: string; tls?: { key: string; cert: string }; main?: string[]; resolvConf?: string }): Promise<Postfix> {
  const postfix = tool('postfix');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mxgate-postfix-'));
  await chmod(dir, 0o755); // the postfix user walks into data/ and mail/
  const [etc, data, mail, spool] = ['etc', 'data', 'mail', 'spool'].map((d) => path.join(dir, d)) as [string, string, string, string];
  const uid = Number((await run('id', ['-u', 'postfix'])).stdout.trim());
  const gid = Number((await run('id', ['-g', 'postfix'])).stdout.trim());
  for (const d of [etc, data, mail, spool]) await mkdir(d);
  await chown(data, uid, gid);
  await chown(mail, uid, gid);
  const port = await freePort();
  const tls: string[] = [];
  if (options.tls) {
    await writeFile(path.join(etc, 'server.pem'), options.tls.key + options.tls.cert, { mode: 0o600 });
    tls.push(`smtpd_tls_chain_files = ${etc}/server.pem`, 'smtpd_tls_security_level = may', 'smtpd_tls_received_header = yes', 'smtpd_tls_loglevel = 1');
  } else {
    tls.push('smtpd_tls_security_level = none');
  }
  const main = [
    'compatibility_level = 3.6',
    `queue_directory = ${spool}`,
    `data_directory = ${data}`,
    `myhostname = ${options.hostname}`,
    'mydestination =',
    'inet_interfaces = 127.0.0.1',
    'inet_protocols = ipv4',
    'mynetworks = 127.0.0.0/8',
    'smtpd_peername_lookup = no',
    'alias_maps =',
    'alias_database =',
    'smtputf8_enable = no',
    `maillog_file = ${dir}/maillog`,
    `maillog_file_prefixes = ${dir}`,
    `virtual_mailbox_domains = ${options.domain}`,
    `virtual_mailbox_base = ${mail}`,
    'virtual_mailbox_maps = static:box/',
    `virtual_uid_maps = static:${uid}`,
    `virtual_gid_maps = static:${gid}`,
    'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination',
    ...tls,
    ...(options.main ?? []),
  ];
  await writeFile(path.join(etc, 'main.cf'), main.join('\n') + '\n');
  await writeFile(path.join(etc, 'master.cf'), masterCf(port));
  try {
    if (options.resolvConf) await run(tool('unshare'), ['-m', 'sh', '-c', `mount --bind "${options.resolvConf}" /etc/resolv.conf && exec "${postfix}" -c "${etc}" start`]);
    else await run(postfix, ['-c', etc, 'start']);
  } catch (err) {
    const log = await readFile(path.join(dir, 'maillog'), 'utf8').catch(() => '(no log)');
    throw new Error(`postfix did not start: ${(err as Error).message}\n${log}`);
  }
  return {
    port,
    async messages() {
      const box = path.join(mail, 'box', 'new');
      const names = (await readdir(box).catch(() => [] as string[])).sort();
      return Promise.all(names.map((n) => readFile(path.join(box, n), 'utf8')));
    },
    log: () => readFile(path.join(dir, 'maillog'), 'utf8').catch(() => ''),
    command: async (name, ...args) => (await run(tool(name), ['-c', etc, ...args])).stdout,
    async stop() {
      await run(postfix, ['-c', etc, 'stop']).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The services a private instance needs, none chrooted (the chroot would need copies of the
 * machine's files), smtpd on our port only, and postlogd for maillog_file.
 */
function masterCf(port: number): string {
  const services = [
    `127.0.0.1:${port} inet n - n - - smtpd`,
    'pickup unix n - n 60 1 pickup',
    'cleanup unix n - n - 0 cleanup',
    'qmgr unix n - n 300 1 qmgr',
    'tlsmgr unix - - n 1000? 1 tlsmgr',
    'rewrite unix - - n - - trivial-rewrite',
    'bounce unix - - n - 0 bounce',
    'defer unix - - n - 0 bounce',
    'trace unix - - n - 0 bounce',
    'verify unix - - n - 1 verify',
    'flush unix n - n 1000? 0 flush',
    'proxymap unix - - n - - proxymap',
    'proxywrite unix - - n - 1 proxymap',
    'smtp unix - - n - - smtp',
    'relay unix - - n - - smtp',
    'showq unix n - n - - showq',
    'error unix - - n - - error',
    'retry unix - - n - - error',
    'discard unix - - n - - discard',
    'local unix - n n - - local',
    'virtual unix - n n - - virtual',
    'lmtp unix - - n - - lmtp',
    'anvil unix - - n - 1 anvil',
    'scache unix - - n - 1 scache',
    'postlog unix-dgram n - n - 1 postlogd',
  ];
  return `${services.join('\n')}\n`;
}

/**
 * A configuration directory for Postfix's client tools (posttls-finger) that the test writes
 * itself: MAIL_CONFIG points there, so the machine's /etc/postfix/main.cf (absent when Postfix was
 * installed with "No configuration") is never read.
 */
export async function postfixToolConfig(dir: string, main: string[] = []): Promise<NodeJS.ProcessEnv> {
  const etc = path.join(dir, 'postfix-etc');
  await mkdir(etc, { recursive: true });
  await writeFile(path.join(etc, 'main.cf'), ['compatibility_level = 3.6', 'inet_protocols = ipv4', ...main, ''].join('\n'));
  await writeFile(path.join(etc, 'master.cf'), '');
  return { ...process.env, MAIL_CONFIG: etc };
}
