import { availableParallelism } from 'node:os';
import { portProblem } from '../grammar.js';
import { editConfig } from '../edit.js';
import { assertFreeName, byName, indexByName } from '../named.js';
import { defaultHat } from './hat.js';
import { findInterface } from '../network/interfaces.js';
import { type Config, ConfigError, type Listener, type ListenerType, MAX_LISTENER_WORKERS } from '../schema.js';

export interface ListenerSpec {
  name: string;
  type: ListenerType;
  interface: string;
  port: number;
}

export function findListener(config: Config, name: string): Listener | undefined {
  return byName(config.listeners, name);
}

const indexOf = (config: Config, name: string): number => indexByName(config.listeners, name, 'listener');

export function addListener(config: Config, spec: ListenerSpec): Config {
  assertFreeName(config.listeners, spec.name, 'A listener');
  const iface = findInterface(config, spec.interface);
  return editConfig(config, (draft) => {
    // Store the interface under its canonical spelling.
    draft.listeners.push({
      ...spec,
      interface: iface?.name ?? spec.interface,
      certificate: null,
      hat: defaultHat(spec.type),
      rcptAccess: [],
      limits: { maxConcurrency: 50, tcpQueue: 50, commandTimeout: 60, dataTimeout: 600, sessionTimeout: 1800 },
    });
  });
}

export function editListener(config: Config, name: string, changes: Partial<ListenerSpec>): Config {
  const index = indexOf(config, name);
  if (changes.name !== undefined) assertFreeName(config.listeners, changes.name, 'A listener', name);
  const iface = changes.interface !== undefined ? findInterface(config, changes.interface) : undefined;
  return editConfig(config, (draft) => {
    Object.assign(draft.listeners[index]!, changes, iface ? { interface: iface.name } : {});
  });
}

export function deleteListener(config: Config, name: string): Config {
  const index = indexOf(config, name);
  return editConfig(config, (draft) => {
    draft.listeners.splice(index, 1);
  });
}

/** The appliance's one-line form: `InboundMail (on Management, 127.0.0.1) SMTP TCP Port 25 Public`. */
export function describeListener(config: Config, l: Listener): string {
  const ip = findInterface(config, l.interface)?.ip ?? '?';
  const scope = l.type === 'public' ? 'Public' : 'Private';
  return `${l.name} (on ${l.interface}, ${ip}) SMTP TCP Port ${l.port} ${scope}`;
}

export function parseListenerType(value: string): ListenerType {
  const v = value.trim().toLowerCase();
  if (v === 'public' || v === 'private') return v;
  throw new ConfigError(`Listener type must be "public" or "private", not "${value}".`);
}

export function parsePort(value: string): number {
  const problem = portProblem(value);
  if (problem) throw new ConfigError(problem);
  return Number(value.trim());
}

/** listenerconfig setup --workers: "auto" or a count of worker processes (0: the engine alone). */
export function parseWorkers(value: string): Config['listenerWorkers'] {
  const v = value.trim().toLowerCase();
  if (v === 'auto') return 'auto';
  if (!/^\d+$/.test(v) || Number(v) > MAX_LISTENER_WORKERS) {
    throw new ConfigError(`Listener workers must be "auto" or a number from 0 to ${MAX_LISTENER_WORKERS}, not "${value}".`);
  }
  return Number(v);
}

export function setWorkers(config: Config, workers: Config['listenerWorkers']): Config {
  return editConfig(config, (draft) => {
    draft.listenerWorkers = workers;
  });
}

export function describeWorkers(config: Config): string {
  const w = config.listenerWorkers;
  if (w === 'auto') return `auto (one per processor core beyond the first two: ${Math.max(0, availableParallelism() - 2)} here)`;
  return w === 0 ? '0 (the engine serves every session itself)' : String(w);
}

export { ConfigError };
