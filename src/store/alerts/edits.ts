import { ALERT_CLASSES, ALERT_SEVERITIES, type AlertRecipient, type Alerts } from './alerts.js';
import { editConfig } from '../edit.js';
import { type Config, ConfigError } from '../schema.js';

/** alertconfig edits. */

export function parseList<T extends string>(value: string, allowed: readonly T[], what: string): T[] {
  const items = value.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  const bad = items.filter((i) => !(allowed as readonly string[]).includes(i));
  if (items.length === 0 || bad.length) throw new ConfigError(`${what} must be a comma-separated list of ${allowed.join(', ')}${bad.length ? `; not ${bad.join(', ')}` : ''}.`);
  return [...new Set(items)] as T[];
}

export const parseClasses = (v: string) => parseList(v, ALERT_CLASSES, '--classes');
export const parseSeverities = (v: string) => parseList(v, ALERT_SEVERITIES, '--severities');

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export function putAlertRecipient(config: Config, r: AlertRecipient, { create }: { create: boolean }): Config {
  const index = config.alerts.recipients.findIndex((x) => same(x.email, r.email));
  if (create && index >= 0) throw new ConfigError(`${r.email} already receives alerts; use "alertconfig edit".`);
  if (!create && index < 0) throw new ConfigError(`${r.email} does not receive alerts.`);
  return editConfig(config, (d) => {
    if (index >= 0) d.alerts.recipients[index] = r;
    else d.alerts.recipients.push(r);
  });
}

export function deleteAlertRecipient(config: Config, email: string): Config {
  if (!config.alerts.recipients.some((x) => same(x.email, email))) throw new ConfigError(`${email} does not receive alerts.`);
  return editConfig(config, (d) => {
    d.alerts.recipients = d.alerts.recipients.filter((x) => !same(x.email, email));
  });
}

export function setAlertSettings(config: Config, changes: Partial<Omit<Alerts, 'recipients'>> & { recipients?: AlertRecipient[] }): Config {
  return editConfig(config, (d) => Object.assign(d.alerts, changes));
}
