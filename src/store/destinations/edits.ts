import { DANE_MODES, type DaneMode, DEST_TLS, IP_SORT, type IpSort, LIMIT_SCOPES, LIMIT_TYPES, type LimitScope, type LimitType, MTA_STS_MODES, type MtaStsMode, securityWithoutTls, type Destination, type DestinationDefaults, type DestinationTls } from './destinations.js';
import { editConfig } from '../edit.js';
import { type Config, ConfigError } from '../schema.js';

/** Edits of the destination control table (destconfig). */

/** A batch option's value from its list, or undefined for "default" (the default entry's value). */
function parseOrDefault<T extends string>(option: string, allowed: readonly T[], value: string): T | undefined {
  const v = value.trim().toLowerCase();
  if (v === 'default') return undefined;
  if ((allowed as readonly string[]).includes(v)) return v as T;
  throw new ConfigError(`${option} must be one of default, ${allowed.join(', ')}; not "${value}".`);
}

export const parseDestinationTls = (value: string): DestinationTls | undefined => parseOrDefault('--tls', DEST_TLS, value);
export const parseDaneMode = (value: string): DaneMode | undefined => parseOrDefault('--dane', DANE_MODES, value);
export const parseMtaStsMode = (value: string): MtaStsMode | undefined => parseOrDefault('--mta-sts', MTA_STS_MODES, value);
export const parseIpSort = (value: string): IpSort | undefined => parseOrDefault('--ip-sort', IP_SORT, value);
export const parseLimitType = (value: string): LimitType | undefined => parseOrDefault('--limit-type', LIMIT_TYPES, value);
export const parseLimitScope = (value: string): LimitScope | undefined => parseOrDefault('--limit-scope', LIMIT_SCOPES, value);

/**
 * Edits of the table, refused when they leave an entry with DANE or MTA-STS on and TLS No (as
 * resolved), with a message that says what to do rather than the schema's.
 */
function editTable(config: Config, mutate: (draft: Config) => void): Config {
  return editConfig(config, (draft) => {
    mutate(draft);
    const bad = securityWithoutTls(draft.delivery);
    if (bad.length) throw new ConfigError(`DANE and MTA-STS need a TLS setting other than No (${bad.join('; ')}): choose a TLS setting such as preferred or required, or turn them off (--dane none, --mta-sts no).`);
  });
}

const sameDomain = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export function putDestination(config: Config, entry: Destination, { create }: { create: boolean }): Config {
  const index = config.delivery.destinations.findIndex((e) => sameDomain(e.domain, entry.domain));
  if (create && index >= 0) throw new ConfigError(`There is already a destination control entry for ${entry.domain}; use "destconfig edit".`);
  if (!create && index < 0) throw new ConfigError(`${entry.domain} was not found in the destination control table.`);
  return editTable(config, (draft) => {
    if (index >= 0) draft.delivery.destinations[index] = { ...draft.delivery.destinations[index]!, ...entry };
    else draft.delivery.destinations.push(entry);
  });
}

/**
 * A change to one domain's pending entry, keeping what is staged there already; `entry` (the whole
 * entry the change makes from the committed table) is added when the pending table has none.
 */
export function amendDestination(config: Config, entry: Destination, changes: Partial<Destination>): Config {
  const pending = config.delivery.destinations.find((e) => sameDomain(e.domain, entry.domain));
  return pending ? putDestination(config, { ...pending, ...changes, domain: pending.domain }, { create: false }) : putDestination(config, entry, { create: true });
}

export function deleteDestination(config: Config, domain: string): Config {
  if (!config.delivery.destinations.some((e) => sameDomain(e.domain, domain))) throw new ConfigError(`${domain} was not found in the destination control table.`);
  return editConfig(config, (draft) => {
    draft.delivery.destinations = draft.delivery.destinations.filter((e) => !sameDomain(e.domain, domain));
  });
}

export function setDestinationDefaults(config: Config, changes: Partial<DestinationDefaults>): Config {
  return editTable(config, (draft) => Object.assign(draft.delivery.defaults, changes));
}

export function replaceDestinations(config: Config, defaults: DestinationDefaults, entries: Destination[]): Config {
  return editTable(config, (draft) => {
    draft.delivery.defaults = defaults;
    draft.delivery.destinations = entries;
  });
}

export function setDeliverySetup(config: Config, changes: { certificate?: string | null; alertOnRequiredTlsFailure?: boolean; alertOnDaneFailure?: boolean }): Config {
  if (changes.certificate && !config.certificates.some((c) => c.name.toLowerCase() === changes.certificate!.toLowerCase())) {
    throw new ConfigError(`No certificate profile named "${changes.certificate}". Known: ${config.certificates.map((c) => c.name).join(', ')}.`);
  }
  return editConfig(config, (draft) => {
    if (changes.certificate !== undefined) draft.delivery.certificate = changes.certificate === null ? null : config.certificates.find((c) => c.name.toLowerCase() === changes.certificate!.toLowerCase())!.name;
    if (changes.alertOnRequiredTlsFailure !== undefined) draft.delivery.alertOnRequiredTlsFailure = changes.alertOnRequiredTlsFailure;
    if (changes.alertOnDaneFailure !== undefined) draft.delivery.alertOnDaneFailure = changes.alertOnDaneFailure;
  });
}
