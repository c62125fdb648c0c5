import type { Command } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { addMetricsToken, deleteMetricsToken, setMetricsAllow } from '../../store/metrics/access.js';
import { describeHttps } from '../../store/network/interfaces.js';

/** metricsconfig: who may read the Prometheus endpoint (/metrics on the HTTPS interfaces that have it on). */
export const metricsconfig: Command = {
  name: 'metricsconfig',
  summary: 'Who may read the Prometheus metrics (/metrics): tokens and allowed addresses',
  usage: ['metricsconfig', 'metricsconfig token new', 'metricsconfig token delete ID|all', 'metricsconfig allow ADDRESS[,ADDRESS...]|none'],
  details: [
    '/metrics is served on the HTTPS port of the interfaces where "interfaceconfig edit NAME --metrics on" turned',
    'it on. A scrape needs "Authorization: Bearer TOKEN" with a token made here, or to come from an allowed address',
    '(an IP address or CIDR range). "token new" prints the token once, on its own last line: only its SHA-256 is',
    'kept, so it cannot be shown again. Up to 10 tokens, so a new one can be rolled out before the old one goes.',
    'Changes take effect at "commit".',
  ],
  keywords: ['token', 'allow'],
  async run(session, args) {
    const io = session.io;
    const [verb, sub, ...rest] = args.map((a, i) => (i < 2 ? a.toLowerCase() : a));
    const usage = `Usage: ${this.usage.join('\n       ')}`;
    if (verb === undefined) {
      const d = session.draft;
      const on = d.interfaces.filter((i) => i.metrics);
      io.print(
        `/metrics is served on: ${on.length ? on.map((i) => `${i.name} (${describeHttps(i)})`).join('; ') : 'no interface (interfaceconfig edit NAME --metrics on)'}`,
        `Tokens: ${d.metrics.tokens.length ? d.metrics.tokens.map((t) => `${t.id} (made ${t.created})`).join(', ') : 'none'}`,
        `Allowed without a token: ${d.metrics.allow.length ? d.metrics.allow.join(', ') : 'no address'}`,
      );
      return;
    }
    if (verb === 'token' && sub === 'new' && rest.length === 0) {
      const made = addMetricsToken(session.draft);
      session.draft = made.config;
      io.print(`Metrics token ${made.id} made; it works once the change is committed. It is shown only now:`, made.token);
      return;
    }
    if (verb === 'token' && sub === 'delete' && rest.length === 1) {
      session.draft = deleteMetricsToken(session.draft, rest[0]!);
      io.print(rest[0]!.toLowerCase() === 'all' ? 'Every metrics token deleted.' : `Metrics token ${rest[0]} deleted.`);
      return;
    }
    if (verb === 'allow' && sub !== undefined) {
      session.draft = setMetricsAllow(session.draft, [args[1]!, ...rest].join(','));
      io.print(`Allowed without a token: ${session.draft.metrics.allow.length ? session.draft.metrics.allow.join(', ') : 'no address'}.`);
      return;
    }
    throw new CommandError(usage);
  },
};
