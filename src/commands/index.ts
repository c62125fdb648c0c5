import type { Command, CommandRegistry } from '../shell/command.js';
import { alertconfig, displayalerts } from './alertconfig/index.js';
import { bounceconfig } from './bounceconfig/index.js';
import { bouncerecipients } from './bouncerecipients/index.js';
import { bvconfig } from './bvconfig/index.js';
import { certconfig } from './certconfig/index.js';
import { clearchanges } from './clearchanges/index.js';
import { daneverify } from './daneverify/index.js';
import { deliverynow } from './deliverynow/index.js';
import { dnsflush } from './dnsflush/index.js';
import { destconfig } from './destconfig/index.js';
import { dnsconfig } from './dnsconfig/index.js';
import { grep } from './grep/index.js';
import { tail } from './tail/index.js';
import { logconfig } from './logconfig/index.js';
import { metricsconfig } from './metricsconfig/index.js';
import { mtastsstatus } from './mtastsstatus/index.js';
import { tlsreport } from './tlsreport/index.js';
import { tlsrptconfig } from './tlsrptconfig/index.js';
import { queueconfig } from './queueconfig/index.js';
import { smtproutes } from './smtproutes/index.js';
import { sslconfig } from './sslconfig/index.js';
import { sshconfig } from './sshconfig/index.js';
import { tlsverify } from './tlsverify/index.js';
import { commit } from './commit/index.js';
import { makeHelp } from './help/index.js';
import { interfaceconfig } from './interfaceconfig/index.js';
import { listenerconfig } from './listenerconfig/index.js';
import { loadconfig } from './loadconfig/index.js';
import { passwd } from './passwd/index.js';
import { quit } from './quit/index.js';
import { userconfig } from './userconfig/index.js';
import { rollbackconfig } from './rollbackconfig/index.js';
import { saveconfig } from './saveconfig/index.js';
import { sethostname } from './sethostname/index.js';
import { clusterconfig } from './clusterconfig/index.js';
import { clustercheck } from './clustercheck/index.js';
import { clustermode } from './clustermode/index.js';
import { clusterset } from './clusterset/index.js';
import { showchanges } from './showchanges/index.js';
import { showconfig } from './showconfig/index.js';
import { showrecipients } from './showrecipients/index.js';
import { status } from './status/index.js';
import { version } from './version/index.js';

const commands: Command[] = [
  alertconfig,
  bounceconfig,
  bouncerecipients,
  bvconfig,
  certconfig,
  clearchanges,
  commit,
  daneverify,
  deliverynow,
  dnsflush,
  destconfig,
  displayalerts,
  dnsconfig,
  grep,
  interfaceconfig,
  listenerconfig,
  loadconfig,
  logconfig,
  metricsconfig,
  mtastsstatus,
  tlsreport,
  passwd,
  queueconfig,
  quit,
  rollbackconfig,
  saveconfig,
  sethostname,
  clusterconfig,
  clustercheck,
  clustermode,
  clusterset,
  smtproutes,
  sshconfig,
  sslconfig,
  showchanges,
  showconfig,
  showrecipients,
  status,
  tail,
  tlsrptconfig,
  tlsverify,
  userconfig,
  version,
];

/** Commands are case-insensitive, aliases included. */
export function findCommand(name: string): Command | undefined {
  const n = name.toLowerCase();
  return commands.find((c) => c.name === n || c.aliases?.includes(n));
}

commands.push(makeHelp(() => [...commands].sort((a, b) => a.name.localeCompare(b.name)), findCommand));

export function allCommands(): readonly Command[] {
  return commands;
}

/** Every command of the shell, as the shell is handed them. */
export const COMMANDS: CommandRegistry = { all: allCommands, find: findCommand };
