import net from 'node:net';
import type { Config } from '../store/schema.js';
import { explainBindError } from './bindings.js';

/**
 * `commit check`: what a commit would bind that is not bound now, tried for real (listen, then
 * close at once) so a taken port or a missing address is found before the commit, not by it.
 */

interface Wanted {
  what: string;
  ip: string;
  port: number;
}

/** Every address and port a configuration binds: listeners, HTTPS (and its redirect), SSH, HTTP-01. */
export function boundBy(config: Config): Wanted[] {
  const out: Wanted[] = [];
  const ipOf = (name: string) => config.interfaces.find((i) => i.name === name)?.ip;
  for (const l of config.listeners) {
    const ip = ipOf(l.interface);
    if (ip) out.push({ what: `listener ${l.name}`, ip, port: l.port });
  }
  for (const i of config.interfaces) {
    if (i.https) out.push({ what: `HTTPS on ${i.name}`, ip: i.ip, port: i.https.port });
    if (i.https?.httpRedirect) out.push({ what: `the HTTP redirect on ${i.name}`, ip: i.ip, port: i.https.httpRedirect });
    if (i.ssh) out.push({ what: `SSH on ${i.name}`, ip: i.ip, port: i.ssh.port });
    if (i.acmeHttp !== undefined) out.push({ what: `ACME HTTP-01 on ${i.name}`, ip: i.ip, port: i.acmeHttp });
  }
  return out;
}

/** The bindings `to` adds over `from`, each tried: one line per one that cannot be bound. */
export async function bindProblems(from: Config, to: Config): Promise<string[]> {
  const have = new Set(boundBy(from).map((b) => `${b.ip}|${b.port}`));
  const problems: string[] = [];
  for (const b of boundBy(to)) {
    if (have.has(`${b.ip}|${b.port}`)) continue;
    const err = await tryBind(b.ip, b.port);
    if (err) problems.push(`${b.what}: ${explainBindError(err, b.ip, b.port)}`);
  }
  return problems;
}

function tryBind(ip: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err));
    server.listen({ host: ip, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}
