import { type Hat, HatSchema, hatProblems, type MailFlowPolicy, PolicyParametersSchema } from './hat.js';
import { describeIssues } from '../schema.js';
import { UserError } from '../../userError.js';

/**
 * The appliance's HAT text format (hostaccess PRINT / EXPORT): policies as `$NAME` with their
 * action and the parameters they set, then sender groups as `NAME:` with their entries and policy.
 */
const KEYS: [keyof MailFlowPolicy, string][] = [
  ['maxMessagesPerConnection', 'max_msgs_per_session'],
  ['maxConcurrency', 'max_concurrency'],
  ['maxRecipientsPerMessage', 'max_rcpts_per_msg'],
  ['maxMessageSize', 'max_message_size'],
  ['tls', 'tls'],
  ['requireTls', 'requiretls'],
  ['acceptUntaggedBounces', 'accept_untagged_bounces'],
];

export function formatHat(hat: Hat): string[] {
  const lines: string[] = ['Default Policy Parameters:'];
  for (const [k, label] of KEYS) lines.push(`    ${label} = ${JSON.stringify(hat.defaults[k as keyof typeof hat.defaults])}`);
  for (const p of hat.policies) {
    lines.push(`$${p.name}`);
    const set = KEYS.filter(([k]) => p[k] !== undefined);
    if (set.length === 0) {
      lines.push(`    ${p.action.toUpperCase()}`);
    } else {
      lines.push(`    ${p.action.toUpperCase()} {`);
      for (const [k, label] of set) lines.push(`        ${label} = ${JSON.stringify(p[k])}`);
      lines.push('    }');
    }
  }
  for (const g of hat.senderGroups) {
    lines.push(`${g.name}:`);
    // The ALL group's one entry is implied by its name; anywhere else ALL is printed as it is.
    const implied = g.name === 'ALL' && g.patterns.length === 1 && g.patterns[0] === 'ALL';
    if (!implied) for (const pattern of g.patterns) lines.push(`    ${pattern}`);
    lines.push(`        $${g.policy}${g.comment ? ` (${g.comment})` : ''}`);
  }
  return lines;
}

export class HatParseError extends UserError {
  override name = 'ConfigError';
}

/** Read the text format back (hostaccess IMPORT). Errors name the line. */
export function parseHat(text: string): Hat {
  const hat: Hat = { defaults: PolicyParametersSchema.parse({}), policies: [], senderGroups: [] };
  const byLabel = new Map(KEYS.map(([k, label]) => [label, k]));
  let section: 'defaults' | 'policy' | 'group' | undefined;
  let policy: MailFlowPolicy | undefined;
  let patterns: string[] = [];
  let groupName = '';
  const lines = text.split(/\r?\n/);
  const fail = (n: number, why: string): never => {
    throw new HatParseError(`Line ${n + 1}: ${why}: "${lines[n]!.trim()}"`);
  };
  const value = (n: number, raw: string, key: string): string | number | boolean => {
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch {
      fail(n, `the value of ${key} is not a number, true/false or a quoted string`);
    }
    if (typeof v !== 'number' && typeof v !== 'string' && typeof v !== 'boolean') fail(n, `the value of ${key} is not a number, true/false or a quoted string`);
    return v as string | number | boolean;
  };
  lines.forEach((line, n) => {
    const t = line.trim();
    if (t === '' || t.startsWith('#') || t === '}') return;
    if (t === 'Default Policy Parameters:') return void (section = 'defaults');
    let m: RegExpExecArray | null;
    if ((m = /^\$([A-Za-z][A-Za-z0-9_-]*)$/.exec(t)) && !line.startsWith(' ')) {
      policy = { name: m[1]!, action: 'accept' };
      hat.policies.push(policy);
      return void (section = 'policy');
    }
    if ((m = /^([A-Za-z][A-Za-z0-9_-]*):$/.exec(t)) && !line.startsWith(' ')) {
      groupName = m[1]!;
      patterns = [];
      return void (section = 'group');
    }
    if (section === 'policy' && (m = /^(ACCEPT|RELAY|REJECT)( \{)?$/.exec(t))) return void (policy!.action = m[1]!.toLowerCase() as MailFlowPolicy['action']);
    if ((section === 'policy' || section === 'defaults') && (m = /^([a-z_]+) = (.+)$/.exec(t))) {
      const key = byLabel.get(m[1]!) ?? fail(n, `unknown parameter ${m[1]}`);
      const v = value(n, m[2]!, m[1]!);
      const target = (section === 'policy' ? policy : hat.defaults) as Record<string, unknown>;
      target[key] = v;
      return;
    }
    if (section === 'group' && (m = /^\$([A-Za-z][A-Za-z0-9_-]*)(?: \((.*)\))?$/.exec(t))) {
      hat.senderGroups.push({ name: groupName, patterns: groupName === 'ALL' && patterns.length === 0 ? ['ALL'] : patterns, policy: m[1]!, comment: m[2] ?? '' });
      return void (section = undefined);
    }
    if (section === 'group') return void patterns.push(t);
    fail(n, 'unexpected line');
  });
  const parsed = HatSchema.safeParse(hat);
  if (!parsed.success) throw new HatParseError(`The table is not valid: ${describeIssues(parsed.error, hat).join('; ')}`);
  const problems = hatProblems(parsed.data);
  if (problems.length) throw new HatParseError(`The table is not valid: ${problems.join('; ')}`);
  return parsed.data;
}
