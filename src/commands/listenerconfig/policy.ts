import { noMoreWords, parseOptions } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { checkRcptDomain, optionalCount, parseYesNo } from '../../store/answers.js';
import { LIMITS } from '../../store/grammar.js';
import type { Session } from '../../shell/session.js';
import type { PolicyParameters } from '../../store/listeners/hat.js';
import { formatHat, parseHat } from '../../store/listeners/hatText.js';
import { readConfigFile, writeConfigFile } from '../files.js';
import { findListener } from '../../store/listeners/listeners.js';
import {
  addGroupPattern,
  addRcptDomain,
  moveSenderGroup,
  parseAction,
  parseTlsLevel,
  removeGroupPattern,
  removeRcptDomain,
  setHatDefaults,
  setLimits,
  setListenerCertificate,
  setHat,
  setPolicy,
  usesDemoCertificate,
} from '../../store/listeners/policy.js';
import type { Listener } from '../../store/schema.js';

/** Batch forms `listenerconfig edit NAME certificate|hostaccess|rcptaccess|limits …`. */

export const DEMO_TLS_WARNING = 'You may use the demo certificate to test TLS, but this will not be secure.';

export const EDIT_USAGE = [
  'listenerconfig edit NAME certificate PROFILE|none',
  'listenerconfig edit NAME hostaccess print',
  'listenerconfig edit NAME hostaccess export|import --file FILE',
  'listenerconfig edit NAME hostaccess default [--tls no|preferred|required] [--requiretls yes|no] [--accept-untagged-bounces yes|no] [--max-message-size N] [--max-concurrency N] [--max-messages N] [--max-recipients N]',
  'listenerconfig edit NAME hostaccess policy POLICY [--tls …] [--action accept|relay|reject] [--max-… N]',
  'listenerconfig edit NAME hostaccess group GROUP add|delete PATTERN [--policy POLICY]',
  'listenerconfig edit NAME hostaccess group GROUP move POSITION',
  'listenerconfig edit NAME rcptaccess add|delete DOMAIN',
  'listenerconfig edit NAME rcptaccess print',
  'listenerconfig edit NAME limits [--max-concurrency N] [--tcp-queue N] [--command-timeout S] [--data-timeout S] [--session-timeout S]',
];

export const EDIT_KEYWORDS = ['certificate', 'hostaccess', 'rcptaccess', 'limits'];

const usage = () => `Usage: ${EDIT_USAGE.join('\n       ')}`;

const EDIT_OPTIONS = {
  tls: { type: 'string' },
  requiretls: { type: 'string' },
  'accept-untagged-bounces': { type: 'string' },
  action: { type: 'string' },
  policy: { type: 'string' },
  'max-message-size': { type: 'string' },
  'max-concurrency': { type: 'string' },
  'max-messages': { type: 'string' },
  'max-recipients': { type: 'string' },
  'tcp-queue': { type: 'string' },
  'command-timeout': { type: 'string' },
  'data-timeout': { type: 'string' },
  'session-timeout': { type: 'string' },
  file: { type: 'string' },
} as const;

/** How many positional words each batch form takes: `hostaccess group G add P` is four. */
function wordsTaken(keyword: string, op: string | undefined): number {
  const what = op?.toLowerCase();
  if (keyword === 'limits') return 0;
  if (keyword === 'certificate') return 1;
  if (keyword === 'rcptaccess') return what === 'print' ? 1 : 2;
  if (what === 'group') return 4;
  if (what === 'policy' || what === 'export' || what === 'import') return 2;
  return 1;
}

const options = (args: string[]) => parseOptions({ usage: EDIT_USAGE }, args, EDIT_OPTIONS);

function policyParameters(values: ReturnType<typeof options>['values']): Partial<PolicyParameters> {
  const out: Partial<PolicyParameters> = {};
  if (values.tls !== undefined) out.tls = parseTlsLevel(values.tls);
  if (values.requiretls !== undefined) out.requireTls = parseYesNo(values.requiretls, '--requiretls');
  if (values['accept-untagged-bounces'] !== undefined) out.acceptUntaggedBounces = parseYesNo(values['accept-untagged-bounces'], '--accept-untagged-bounces');
  const set = <K extends keyof PolicyParameters>(k: K, v: PolicyParameters[K] | undefined) => v !== undefined && (out[k] = v);
  set('maxMessageSize', optionalCount(values['max-message-size'], '--max-message-size', LIMITS.maxMessageSize));
  set('maxConcurrency', optionalCount(values['max-concurrency'], '--max-concurrency', LIMITS.maxConcurrency));
  set('maxMessagesPerConnection', optionalCount(values['max-messages'], '--max-messages', LIMITS.maxMessagesPerConnection));
  set('maxRecipientsPerMessage', optionalCount(values['max-recipients'], '--max-recipients', LIMITS.maxRecipientsPerMessage));
  return out;
}

export function warnIfDemoTls(session: Session, name: string): void {
  const l = findListener(session.draft, name)!;
  const tls = l.hat.policies.some((p) => p.action !== 'reject' && (p.tls ?? l.hat.defaults.tls) !== 'off');
  if (tls && usesDemoCertificate(session.draft, l)) {
    session.io.warn(`${DEMO_TLS_WARNING} Listener ${l.name} presents the demo certificate; assign one with "listenerconfig edit ${l.name} certificate PROFILE".`);
  }
}

export function printRcptAccess(session: Session, l: Listener): void {
  session.io.print(`Recipient access table of ${l.name}:`);
  if (l.rcptAccess.length === 0) session.io.print('    (empty: every recipient is refused unless the host may relay)');
  for (const d of l.rcptAccess) session.io.print(`    ${d}    ACCEPT`);
  session.io.print('    ALL    REJECT');
}

export async function editPolicyBatch(session: Session, name: string, keyword: string, args: string[]): Promise<void> {
  const io = session.io;
  const listener = findListener(session.draft, name);
  if (!listener) throw new CommandError(`No listener named "${name}". Known: ${session.draft.listeners.map((l) => l.name).join(', ') || 'none'}.`);
  const { values, positionals } = options(args);
  const [op, arg1] = positionals;
  noMoreWords({ usage: EDIT_USAGE }, positionals.slice(wordsTaken(keyword, op)));
  switch (keyword) {
    case 'certificate': {
      if (!op) throw new CommandError(usage());
      session.draft = setListenerCertificate(session.draft, listener.name, op.toLowerCase() === 'none' ? null : op);
      io.print(`Listener ${listener.name} will present ${op.toLowerCase() === 'none' ? 'the demo certificate' : `certificate profile ${op}`} after "commit".`);
      warnIfDemoTls(session, listener.name);
      return;
    }
    case 'hostaccess': {
      const what = op?.toLowerCase();
      if (what === 'print') {
        io.print(...formatHat(listener.hat));
        return;
      }
      if (what === 'export' || what === 'import') {
        const file = values.file ?? arg1;
        if (!file) throw new CommandError(usage());
        if (what === 'export') {
          io.print(`The table was exported to ${await writeConfigFile(session, file, formatHat(listener.hat).join('\n') + '\n')}.`);
          return;
        }
        session.draft = setHat(session.draft, listener.name, parseHat((await readConfigFile(session, file)).toString('utf8')));
        io.print(`The host access table of ${listener.name} was imported.`);
        warnIfDemoTls(session, listener.name);
        return;
      }
      if (what === 'default') {
        const changes = policyParameters(values);
        if (Object.keys(changes).length === 0) throw new CommandError(`Nothing to change.\n${usage()}`);
        session.draft = setHatDefaults(session.draft, listener.name, changes);
        io.print(`Default policy parameters of ${listener.name} changed.`);
      } else if (what === 'policy' && arg1) {
        const changes = { ...policyParameters(values), ...(values.action ? { action: parseAction(values.action) } : {}) };
        if (Object.keys(changes).length === 0) throw new CommandError(`Nothing to change.\n${usage()}`);
        session.draft = setPolicy(session.draft, listener.name, arg1, changes);
        io.print(`Policy $${arg1.replace(/^\$/, '')} of ${listener.name} changed.`);
      } else if (what === 'group' && arg1 && positionals[2] && positionals[3]) {
        const verb = positionals[2].toLowerCase();
        const pattern = positionals[3];
        if (verb === 'add') session.draft = addGroupPattern(session.draft, listener.name, arg1, pattern, values.policy);
        else if (verb === 'move') session.draft = moveSenderGroup(session.draft, listener.name, arg1, /^\d+$/.test(pattern) ? Number(pattern) : NaN);
        else if (verb === 'delete') session.draft = removeGroupPattern(session.draft, listener.name, arg1, pattern);
        else throw new CommandError(usage());
        io.print(`Sender group ${arg1} of ${listener.name} changed.`);
      } else {
        throw new CommandError(usage());
      }
      warnIfDemoTls(session, listener.name);
      return;
    }
    case 'rcptaccess': {
      const what = op?.toLowerCase();
      if (what === 'print') return printRcptAccess(session, listener);
      if (!arg1 || (what !== 'add' && what !== 'delete')) throw new CommandError(usage());
      checkRcptDomain(arg1);
      session.draft = what === 'add' ? addRcptDomain(session.draft, listener.name, arg1) : removeRcptDomain(session.draft, listener.name, arg1);
      io.print(`Recipient access table of ${listener.name} changed.`);
      return;
    }
    case 'limits': {
      const changes = {
        maxConcurrency: optionalCount(values['max-concurrency'], '--max-concurrency'),
        tcpQueue: optionalCount(values['tcp-queue'], '--tcp-queue'),
        commandTimeout: optionalCount(values['command-timeout'], '--command-timeout'),
        dataTimeout: optionalCount(values['data-timeout'], '--data-timeout'),
        sessionTimeout: optionalCount(values['session-timeout'], '--session-timeout'),
      };
      const set = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
      if (Object.keys(set).length === 0) throw new CommandError(`Nothing to change.\n${usage()}`);
      session.draft = setLimits(session.draft, listener.name, set);
      const tcpQueue = changes.tcpQueue;
      io.print(`Limits of ${listener.name} changed.${tcpQueue ? ' A new TCP queue length applies when the listener is next bound (address change or engine restart).' : ''}`);
      return;
    }
  }
}
