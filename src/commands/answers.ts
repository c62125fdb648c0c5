import net from 'node:net';
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
