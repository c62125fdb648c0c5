import type { Config } from '../store/schema.js';
import type { SessionOrigin } from './frontEnds.js';

/**
 * What in a commit would keep the administrator of a remote session from coming back the way they
 * came: their account deleted, or the service they use no longer on that address and port
 * (interface deleted or moved, service off, port changed). Sessions already open stay open, so the
 * danger is the next login. One line each; none when the way back stays.
 */
export function lockOutProblems(origin: SessionOrigin, from: Config, to: Config): string[] {
  const problems: string[] = [];
  if (!to.users.some((u) => u.name === origin.account)) problems.push(`it deletes the account ${origin.account} this session uses`);
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
