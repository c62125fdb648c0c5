import { editConfig } from '../edit.js';
import { assertFreeName, byName, indexByName } from '../named.js';
import { type Config, ConfigError, type Interface, sameName } from '../schema.js';
export { SSH_LIMITS } from '../schema.js';
import { portProblem } from '../grammar.js';

export function findInterface(config: Config, name: string): Interface | undefined {
  return byName(config.interfaces, name);
}

const indexOf = (config: Config, name: string): number => indexByName(config.interfaces, name, 'interface');

export function addInterface(config: Config, spec: Interface): Config {
  assertFreeName(config.interfaces, spec.name, 'An interface');
  return editConfig(config, (draft) => {
    draft.interfaces.push({ ...spec });
  });
}

export function editInterface(config: Config, name: string, changes: Partial<Interface>): Config {
  const index = indexOf(config, name);
  const renamed = changes.name !== undefined && !sameName(changes.name, name);
  if (renamed) assertFreeName(config.interfaces, changes.name!, 'An interface');
  return editConfig(config, (draft) => {
    const iface = draft.interfaces[index]!;
    Object.assign(iface, changes);
    // Listeners refer to the interface by name: a rename carries them along.
    if (renamed) for (const l of draft.listeners) if (sameName(l.interface, name)) l.interface = changes.name!;
  });
}

export function listenersOnInterface(config: Config, name: string): string[] {
  return config.listeners.filter((l) => sameName(l.interface, name)).map((l) => l.name);
}

export function deleteInterface(config: Config, name: string): Config {
  const index = indexOf(config, name);
  const users = listenersOnInterface(config, name);
  if (users.length) {
    throw new ConfigError(`Interface "${config.interfaces[index]!.name}" is used by listener(s) ${users.join(', ')}; delete or move them first.`);
  }
  return editConfig(config, (draft) => {
    draft.interfaces.splice(index, 1);
  });
}

export interface HttpsSetting {
  port: number;
  certificate: string | null;
  httpRedirect: number | null;
}

/** A service port as typed (batch option, dialog answer or form field), or null for "none". */
export function portOrNone(what: string, value: string): number | null {
  if (value.trim().toLowerCase() === 'none') return null;
  const problem = portProblem(value);
  if (problem) throw new ConfigError(`${what}: ${problem} Use "none" to turn it off.`);
  return Number(value.trim());
}

/**
 * Turn the HTTPS management service of an interface on (or change it) or off (null). The
 * certificate profile must exist; ports are checked against every listener and service on the
 * same address by the schema's consistency rules.
 */
export function setInterfaceHttps(config: Config, name: string, https: HttpsSetting | null): Config {
  const index = indexOf(config, name);
  let certificate = https?.certificate ?? null;
  if (certificate !== null) {
    certificate = config.certificates[indexByName(config.certificates, certificate, 'certificate profile')]!.name;
  }
  return editConfig(config, (draft) => {
    if (https) draft.interfaces[index]!.https = { ...https, certificate };
    else {
      delete draft.interfaces[index]!.https;
      delete draft.interfaces[index]!.metrics;
    }
  });
}

/** The Prometheus endpoint /metrics on an interface's HTTPS port, on or off (it needs HTTPS: the schema says so). */
export function setInterfaceMetrics(config: Config, name: string, on: boolean): Config {
  const index = indexOf(config, name);
  return editConfig(config, (draft) => {
    if (on) draft.interfaces[index]!.metrics = true;
    else delete draft.interfaces[index]!.metrics;
  });
}

/** "HTTPS 8443 (certificate Demo), HTTP 8080 redirects" or "no HTTPS". */
export function describeHttps(i: Interface): string {
  if (!i.https) return 'HTTPS off';
  const cert = i.https.certificate ?? 'the demo certificate';
  return `HTTPS on port ${i.https.port} with ${cert}${i.https.httpRedirect ? `, HTTP port ${i.https.httpRedirect} redirects to it` : ''}${i.metrics ? ', /metrics on' : ''}`;
}

/** Turn the SSH service of an interface on at a port, or off (null); port clashes are the schema's. */
export function setInterfaceSsh(config: Config, name: string, port: number | null): Config {
  const index = indexOf(config, name);
  return editConfig(config, (draft) => {
    if (port === null) delete draft.interfaces[index]!.ssh;
    else draft.interfaces[index]!.ssh = { port };
  });
}

export function describeSsh(i: Interface): string {
  return i.ssh ? `SSH on port ${i.ssh.port}` : 'SSH off';
}

/** Turn the ACME HTTP-01 responder of an interface on at a port, or off (null); port clashes are the schema's. */
export function setInterfaceAcmeHttp(config: Config, name: string, port: number | null): Config {
  const index = indexOf(config, name);
  return editConfig(config, (draft) => {
    if (port === null) delete draft.interfaces[index]!.acmeHttp;
    else draft.interfaces[index]!.acmeHttp = port;
  });
}

export function describeAcmeHttp(i: Interface): string {
  return i.acmeHttp === undefined ? '' : `, ACME HTTP-01 on port ${i.acmeHttp}`;
}

export type SshSettings = Config['ssh'];

export function setSshSettings(config: Config, changes: Partial<SshSettings>): Config {
  return editConfig(config, (draft) => void Object.assign(draft.ssh, changes));
}
