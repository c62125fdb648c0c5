import net from 'node:net';
import { CommandError } from '../shell/errors.js';
import { InvalidAnswer } from '../shell/io.js';
import { hostname, objectName } from '../store/schema.js';

/** Answer checks shared by dialogs: each returns the value or throws InvalidAnswer with the reason. */

export function checkName(value: string): string {
  const r = objectName.safeParse(value);
  if (!r.success) throw new InvalidAnswer(`Invalid name "${value}": ${r.error.issues[0]!.message}.`);
  return value;
}

export function checkIp(value: string): string {
  if (net.isIP(value) === 0) throw new InvalidAnswer(`Invalid IP address "${value}".`);
  return value;
}

/** Empty means "none" (undefined). */
export function checkOptionalHostname(value: string): string | undefined {
  if (value === '') return undefined;
  if (!hostname.safeParse(value).success) throw new InvalidAnswer(`Invalid hostname format "${value}".`);
  return value;
}

/** A batch option that must be a whole number above 0 (undefined when the option was not given). */
export function optionalCount(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new CommandError(`${what} must be a whole number above 0, not "${value}".`);
  return Number(value);
}
