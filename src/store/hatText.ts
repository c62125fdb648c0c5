import type { Hat, MailFlowPolicy } from './hat.js';

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
    for (const pattern of g.patterns) if (pattern !== 'ALL') lines.push(`    ${pattern}`);
    lines.push(`        $${g.policy}${g.comment ? ` (${g.comment})` : ''}`);
  }
  return lines;
}
