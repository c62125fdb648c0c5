import type { Config } from '../store/schema.js';
import { parseAuthorizedKey } from '../pki/sshKeys.js';
import type { SessionOrigin } from './frontEnds.js';

const keyFingerprint = (line: string): string | undefined => {
  try {
    return parseAuthorizedKey(line).fingerprint;
  } catch {
    return undefined;
  }
};

/**
 * What in a commit would keep the administrator of a remote session from coming back the way they
 * came: their account deleted, or the service they use no longer on that address and port
 * (interface deleted or moved, service off, port changed). Sessions already open stay open, so the
 * danger is the next login. One line each; none when the way back stays.
 */
export function lockOutProblems(origin: SessionOrigin, from: Config, to: Config): string[] {
  const problems: string[] = [];
  const account = to.users.find((u) => u.name === origin.account);
  if (!account) problems.push(`it deletes the account ${origin.account} this session uses`);
  else if (origin.key && !(account.sshKeys ?? []).some((line) => keyFingerprint(line) === origin.key)) problems.push(`it deletes the SSH key ${origin.key} this session logged in with`);
  else if (origin.service === 'SSH' && !origin.key && from.ssh.passwordAuth && !to.ssh.passwordAuth) problems.push('it turns SSH password logins off, and this session logged in with a password');
  const portOf = (i: Config['interfaces'][number]) => (origin.service === 'SSH' ? i.ssh?.port : i.https?.port);
  if (to.interfaces.some((i) => i.ip === origin.ip && portOf(i) === origin.port)) return problems;
  const was = from.interfaces.find((i) => i.ip === origin.ip && portOf(i) === origin.port);
  const where = `${origin.service} on ${origin.ip} port ${origin.port}`;
  const now = was && to.interfaces.find((i) => i.name === was.name);
  if (!was) problems.push(`nothing will answer ${where}, which this session uses`);
  else if (!now) problems.push(`it deletes interface ${was.name}, where this session came in (${where})`);
  else if (now.ip !== was.ip) problems.push(`it moves interface ${was.name} from ${was.ip} to ${now.ip}, where this session came in (${where})`);
  else if (portOf(now) === undefined) problems.push(`it turns ${origin.service} off on interface ${was.name}, which this session uses (${where})`);
  else problems.push(`it moves ${origin.service} on interface ${was.name} from port ${origin.port} to ${portOf(now)}, which this session uses`);
  return problems;
}
