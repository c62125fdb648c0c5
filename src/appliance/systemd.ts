import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The data directory of the service, as the unit and the README name it. */
export const SERVICE_HOME = '/var/lib/mxgate';
export const SERVICE_ACCOUNT = 'mxgate';
export const UNIT_FILE = '/etc/systemd/system/mxgate.service';
/** This installation's command (bin/mxgate.js), which the unit and a root start run as the account. */
export const PROGRAM = fileURLToPath(new URL('../../bin/mxgate.js', import.meta.url));
/**
 * What node is given before the program when it runs the engine (listener workers inherit it):
 * - its OpenSSL settings (bin/engine-openssl.cnf: one TLS 1.3 session ticket per handshake);
 * - V8's old generation may always grow to twice what was live after the last full collection (as
 *   Go's GOGC=100). V8's own factor (1.1 to 4) follows its collection speed against allocation,
 *   aiming at 97 % of the time for the program. Under a stream of 100 KB messages it fell low and
 *   marking began again soon after each full collection (25 in a 25 s run, against 13 with 2
 *   while taking more messages), yet early on it let the heap reach 88-131 MB before one: peak RSS
 *   ~228 MB on every bench row, ~166-188 MB with 2.
 */
export const ENGINE_NODE_ARGS = [`--openssl-config=${fileURLToPath(new URL('../../bin/engine-openssl.cnf', import.meta.url))}`, '--heap-growing-percent=100'];

/**
 * sd_notify(3): tell systemd the engine is ready, what it is doing, or that it stops. Node has no
 * unix datagram sockets, so the message goes through systemd-notify, which also waits until systemd
 * has read it (its barrier). The unit says NotifyAccess=all for that reason, and MAINPID names the
 * engine. Outside systemd (no NOTIFY_SOCKET) nothing happens; a failure is returned for the log,
 * never thrown: a missing notification must not stop mail.
 */
export function notifySystemd(fields: Record<string, string>): Promise<string | undefined> {
  if (!process.env.NOTIFY_SOCKET) return Promise.resolve(undefined);
  const args = [...Object.entries(fields).map(([k, v]) => `${k}=${v.replace(/\n/g, ' ')}`), `MAINPID=${process.pid}`];
  return new Promise((resolve) => {
    execFile('systemd-notify', args, { timeout: 10_000 }, (err, _out, stderr) => {
      resolve(err ? `systemd-notify ${Object.keys(fields).join(', ')} failed: ${(stderr.trim() || err.message).split('\n')[0]}` : undefined);
    });
  });
}

/**
 * The service unit for this installation: ExecStart runs this very program (the node binary and
 * bin/mxgate.js it was started from). systemd starts the engine as the service account with
 * CAP_NET_BIND_SERVICE as its only capability (port 25, and any port below 1024 a later commit
 * adds), in a read-only system where only the data directory can be written.
 */
export function serviceUnit(options: { home?: string; account?: string; node?: string; bin?: string } = {}): string {
  const home = options.home ?? SERVICE_HOME;
  const account = options.account ?? SERVICE_ACCOUNT;
  const node = options.node ?? process.execPath;
  const bin = options.bin ?? PROGRAM;
  const start = `${node} ${ENGINE_NODE_ARGS.join(' ')} ${bin} --home ${home}`;
  // ProtectHome hides /home and /root: only when the program is not installed there.
  const programInHome = [node, bin].some((p) => /^\/(home|root|run\/user)\//.test(p));
  const stateDirectory = home.startsWith('/var/lib/') ? `StateDirectory=${home.slice('/var/lib/'.length)}\nStateDirectoryMode=0700\n` : '';
  return `# mxgate: the mail gateway engine, run by systemd (written by "mxgate service unit").
# Configuration changes only by commit (the shell, SSH or the GUI): reload re-reads nothing and
# reopens nothing; it only writes a line in the mail log. Open the shell with:
#   sudo -u ${account} mxgate --home ${home}
[Unit]
Description=mxgate mail gateway
After=network-online.target
Wants=network-online.target

[Service]
Type=notify
NotifyAccess=all
ExecStart=${start} engine run --user ${account}
ExecReload=/bin/kill -HUP $MAINPID
TimeoutStopSec=60
Restart=on-failure
User=${account}
Group=${account}
UMask=0077
${stateDirectory}AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=${home}
${programInHome ? '' : 'ProtectHome=yes\n'}PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
RestrictSUIDSGID=yes
LockPersonality=yes
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
`;
}
