import { countProblem, domainProblem, hostnameProblem, ipProblem, isHostname, LIMITS } from './grammar.js';
import { ConfigError, objectName } from './schema.js';
import { UserError } from '../userError.js';

/**
 * Answer checks shared by the shell's dialogs and batch forms and the GUI's forms: each returns the
 * value or throws InvalidAnswer with the reason (a dialog asks again; a form shows it).
 */

/** What a validator throws to have the question asked again. */
export class InvalidAnswer extends UserError {
  override name = 'InvalidAnswer';
}

export function checkName(value: string): string {
  const r = objectName.safeParse(value);
  if (!r.success) throw new InvalidAnswer(`Invalid name "${value}": ${r.error.issues[0]!.message}.`);
  return value;
}

export function checkIp(value: string): string {
  const problem = ipProblem(value);
  if (problem) throw new InvalidAnswer(problem);
  return value;
}

/** A domain or ".domain" (destination controls, SMTP routes). */
export function checkDomain(value: string): string {
  const problem = domainProblem(value);
  if (problem) throw new InvalidAnswer(problem);
  return value;
}

/** A recipient access table entry: a domain, ".domain" or ALL (dialog and batch form alike). */
export function checkRcptDomain(value: string): string {
  const problem = value === 'ALL' ? undefined : domainProblem(value);
  if (problem) throw new InvalidAnswer(problem.includes('A-label') ? problem : `"${value}" is not a domain, ".domain" or ALL.`);
  return value;
}

/** Empty means "none" (undefined). */
export function checkOptionalHostname(value: string): string | undefined {
  if (value === '') return undefined;
  if (!isHostname(value)) throw new InvalidAnswer(hostnameProblem(value) ?? `"${value}" is an IP address, not a host name.`);
  return value;
}

/** A batch option that must be a whole number in range (undefined when the option was not given). */
export function optionalCount(value: string | undefined, what: string, limit: { min: number; max: number } = LIMITS.count): number | undefined {
  if (value === undefined) return undefined;
  const problem = countProblem(value, what, limit);
  if (problem) throw new ConfigError(problem);
  return Number(value);
}

/** A batch option that is yes or no (any case). */
export function parseYesNo(value: string, what: string): boolean {
  if (!/^(yes|no)$/i.test(value)) throw new ConfigError(`${what} is yes or no, not "${value}".`);
  return value.toLowerCase() === 'yes';
}
