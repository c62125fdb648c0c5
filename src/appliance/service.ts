import { writeFile } from 'node:fs/promises';
import { UserError } from '../userError.js';
import { accountToRunAs, blockingDirectory, handOverDataDirectory, isRoot } from './privileges.js';
import { PROGRAM, SERVICE_ACCOUNT, SERVICE_HOME, serviceUnit, UNIT_FILE } from './systemd.js';

/**
 * `mxgate service install`: the service account (created if missing), its data directory, and the
 * unit file for this installation. systemd itself is left to the administrator: the lines to run
 * are returned, nothing is enabled or started behind their back.
 */
export async function installService(options: { home?: string; user?: string; unitFile?: string }): Promise<string[]> {
  if (!isRoot()) throw new UserError('service install writes the unit file and creates the service account: run it as root');
  const home = options.home ?? SERVICE_HOME;
  const name = options.user ?? SERVICE_ACCOUNT;
  if (name === 'root') throw new UserError('the service runs as an unprivileged account: --user root is not offered here');
  const account = await accountToRunAs(name);
  if (!account) throw new UserError(`${name} is root's account; choose an unprivileged one`);
  // What ExecStart runs: the node binary and this installation's program.
  for (const program of [process.execPath, PROGRAM]) {
    const blocked = await blockingDirectory(program, account);
    if (blocked) throw new UserError(`the service account ${account.name} cannot reach ${program}: ${blocked} is closed to it; install mxgate with "npm install -g" first`);
  }
  await handOverDataDirectory(home, account);
  const file = options.unitFile ?? UNIT_FILE;
  await writeFile(file, serviceUnit({ home, account: account.name }), { mode: 0o644 });
  return [
    ...(account.created ? [`Created the service account ${account.name}.`] : []),
    `Wrote ${file} (data directory ${home}, account ${account.name}). Now run:`,
    '  systemctl daemon-reload && systemctl enable --now mxgate',
    `  sudo -u ${account.name} mxgate --home ${home}`,
  ];
}
