import { type Command, parseOptions } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { InvalidAnswer } from '../../shell/io.js';
import { editConfig } from '../../store/edit.js';
import { optionalCount } from '../../store/answers.js';
import { type Config, MAIL_LOG_LEVELS, type MailLogLevel } from '../../store/schema.js';
import { PUSHED_LOGS, type PushedLog, syslogUrlProblem } from '../../store/logs/syslogTarget.js';

/** The appliance's names for the levels (logconfig "Log level:" list). */
const LABELS: Record<MailLogLevel, string> = { critical: 'Critical', warning: 'Warning', info: 'Information', debug: 'Debug', trace: 'Trace' };

const OPTIONS = { level: { type: 'string' }, 'rotate-size': { type: 'string' }, 'rotate-hours': { type: 'string' }, keep: { type: 'string' }, syslog: { type: 'string' } } as const;

const TITLES: Record<PushedLog, string> = { mail_logs: 'Text Mail Logs', cli_logs: 'SSH (CLI) audit log', gui_logs: 'GUI audit log' };

/** A syslog receiver as typed (--syslog or the dialog): its URL, or undefined for "none". */
function syslogFrom(value: string): string | undefined {
  const v = value.trim();
  if (v.toLowerCase() === 'none') return undefined;
  const problem = syslogUrlProblem(v);
  if (problem) throw new InvalidAnswer(problem);
  return v;
}

/** A log pushed to a receiver from the next commit on, or no longer pushed. */
const setPush = (config: Config, log: PushedLog, url: string | undefined): Config =>
  editConfig(config, (d) => {
    if (url) d.logs.syslog[log] = url;
    else delete d.logs.syslog[log];
  });

export const logconfig: Command = {
  name: 'logconfig',
  summary: 'Log settings: the mail log level and rollover',
  usage: [
    'logconfig',
    'logconfig mail_logs [--level critical|warning|info|debug|trace] [--rotate-size BYTES] [--rotate-hours H] [--keep N]',
    'logconfig mail_logs',
    'logconfig mail_logs|cli_logs|gui_logs --syslog tcp+tls://HOST:PORT|tcp://HOST:PORT|udp://HOST:PORT|none',
  ],
  details: [
    'mail_logs is the text mail log (logs/mail_logs/mail.current). Lines more detailed than the level are',
    'not written: Information (the default) has the delivery and TLS lines; Debug adds, for example, the',
    'MTA-STS DNS queries and policy fetches; Trace adds everything else.',
    'Rollover: mail.current becomes mail.@<time it was started>.s when it grows past --rotate-size (10 MB by',
    'default) or is --rotate-hours old (24 by default; 0: by size only); --keep such files are kept (10).',
    '"tail mail_logs" and "grep PATTERN mail_logs" read them. Takes effect at "commit".',
    'Syslog push: --syslog sends every line of the log (as the level lets through) to a syslog server as well, as',
    'RFC 5424 messages: tcp+tls:// (RFC 5425; the server\'s certificate must be for HOST and chain to the trusted CA',
    'lists of certconfig), tcp:// (octet counting, RFC 6587) or udp:// (RFC 5426, lines cut at 2048 bytes).',
    'Facility mail for mail_logs, authpriv for the audit logs cli_logs and gui_logs. A server that is down never',
    'holds up mail: up to 10000 lines wait and go out in order when it is back; more are dropped, counted',
    '(mxgate_log_push_dropped_lines_total) and the server is told how many. "none" stops the push.',
  ],
  keywords: [...PUSHED_LOGS],
  async run(session, args) {
    const { values, positionals } = parseOptions(this, args, OPTIONS);
    const io = session.io;
    const show = () => {
      const l = session.draft.logs;
      const push = (log: PushedLog) => `    Syslog push: ${l.syslog[log] ?? 'none'}`;
      io.print(
        `mail_logs: ${TITLES.mail_logs}, log level ${LABELS[l.mailLevel]}`,
        `    Rollover: at ${l.rotateBytes} bytes${l.rotateHours ? ` or after ${l.rotateHours} hour(s)` : ' (by size only)'}; ${l.keep} file(s) kept`,
        push('mail_logs'),
        `cli_logs: ${TITLES.cli_logs}`,
        push('cli_logs'),
        `gui_logs: ${TITLES.gui_logs}`,
        push('gui_logs'),
      );
    };
    const changes = [values.level, values['rotate-size'], values['rotate-hours'], values.keep].some((v) => v !== undefined);
    if (positionals.length === 0 && !changes && values.syslog === undefined) return show();
    const log = positionals[0]?.toLowerCase() as PushedLog | undefined;
    if (positionals.length > 1 || !log || !(PUSHED_LOGS as readonly string[]).includes(log)) {
      throw new CommandError(`Name one log: ${PUSHED_LOGS.join(', ')}.\nUsage: ${this.usage.join('\n       ')}`);
    }
    if (log !== 'mail_logs' && changes) throw new CommandError(`${log} has only the syslog push to set (--syslog); level and rollover are the mail log's.`);
    if (values.syslog !== undefined) {
      const url = syslogFrom(values.syslog);
      session.draft = setPush(session.draft, log, url);
      if (!changes) {
        io.print(url ? `${log} will also be pushed to ${url} (at commit).` : `${log} will not be pushed to a syslog server (at commit).`);
        return;
      }
    }
    if (log !== 'mail_logs') {
      if (!io.interactive) throw new CommandError(`logconfig ${log}: give --syslog URL|none.\nUsage: ${this.usage[3]}`);
      const url = await io.ask('Syslog server to push this log to (tcp+tls://HOST:PORT, tcp://HOST:PORT, udp://HOST:PORT or none):', {
        default: session.draft.logs.syslog[log] ?? 'none',
        validate: syslogFrom,
      });
      session.draft = setPush(session.draft, log, url);
      return show();
    }
    let level: MailLogLevel | undefined;
    if (values.level !== undefined) {
      const v = values.level.trim().toLowerCase() === 'information' ? 'info' : values.level.trim().toLowerCase();
      if (!(MAIL_LOG_LEVELS as readonly string[]).includes(v)) throw new CommandError(`--level must be one of ${MAIL_LOG_LEVELS.join(', ')}; not "${values.level}".`);
      level = v as MailLogLevel;
    } else if (!changes && values.syslog === undefined) {
      if (!io.interactive) throw new CommandError(`logconfig mail_logs: give --level, a rollover setting or --syslog.\nUsage: ${this.usage[1]}`);
      level = await io.choose('Log level:', MAIL_LOG_LEVELS.map((l) => ({ label: LABELS[l], value: l })), MAIL_LOG_LEVELS.indexOf(session.draft.logs.mailLevel) + 1);
    }
    const rotateBytes = optionalCount(values['rotate-size'], '--rotate-size', { min: 100 * 1024, max: 10 * 1024 ** 3 });
    const rotateHours = values['rotate-hours'] === '0' ? 0 : optionalCount(values['rotate-hours'], '--rotate-hours', { min: 0, max: 8760 });
    const keep = optionalCount(values.keep, '--keep', { min: 1, max: 1000 });
    session.draft = editConfig(session.draft, (d) => {
      if (level !== undefined) d.logs.mailLevel = level;
      if (rotateBytes !== undefined) d.logs.rotateBytes = rotateBytes;
      if (rotateHours !== undefined) d.logs.rotateHours = rotateHours;
      if (keep !== undefined) d.logs.keep = keep;
    });
    show();
  },
};
