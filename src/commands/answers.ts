import { CommandError } from '../shell/errors.js';
import { InvalidAnswer } from '../shell/io.js';
import { countProblem, domainProblem, hostnameProblem, ipProblem, isHostname, LIMITS } from '../store/grammar.js';
import { objectName } from '../store/schema.js';

/** Answer checks shared by dialogs: each returns the value or throws InvalidAnswer with the reason. */

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
  if (value !== 'ALL' && domainProblem(value) !== undefined) throw new InvalidAnswer(`"${value}" is not a domain, ".domain" or ALL.`);
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
  if (problem) throw new CommandError(problem);
  return Number(value);
}
