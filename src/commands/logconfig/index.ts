import { type Command, parseOptions } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { editConfig } from '../../store/edit.js';
import { optionalCount } from '../../store/answers.js';
import { MAIL_LOG_LEVELS, type MailLogLevel } from '../../store/schema.js';

/** The appliance's names for the levels (logconfig "Log level:" list). */
const LABELS: Record<MailLogLevel, string> = { critical: 'Critical', warning: 'Warning', info: 'Information', debug: 'Debug', trace: 'Trace' };

const OPTIONS = { level: { type: 'string' }, 'rotate-size': { type: 'string' }, 'rotate-hours': { type: 'string' }, keep: { type: 'string' } } as const;

export const logconfig: Command = {
  name: 'logconfig',
  summary: 'Log settings: the mail log level and rollover',
  usage: [
    'logconfig',
    'logconfig mail_logs [--level critical|warning|info|debug|trace] [--rotate-size BYTES] [--rotate-hours H] [--keep N]',
    'logconfig mail_logs',
  ],
  details: [
    'mail_logs is the text mail log (logs/mail_logs/mail.current). Lines more detailed than the level are',
    'not written: Information (the default) has the delivery and TLS lines; Debug adds, for example, the',
    'MTA-STS DNS queries and policy fetches; Trace adds everything else.',
    'Rollover: mail.current becomes mail.@<time it was started>.s when it grows past --rotate-size (10 MB by',
    'default) or is --rotate-hours old (24 by default; 0: by size only); --keep such files are kept (10).',
    '"tail mail_logs" and "grep PATTERN mail_logs" read them. Takes effect at "commit".',
  ],
  keywords: ['mail_logs'],
  async run(session, args) {
    const { values, positionals } = parseOptions(this, args, OPTIONS);
    const io = session.io;
    const show = () => {
      const l = session.draft.logs;
      io.print(
        `mail_logs: IronPort Text Mail Logs, log level ${LABELS[l.mailLevel]}`,
        `    Rollover: at ${l.rotateBytes} bytes${l.rotateHours ? ` or after ${l.rotateHours} hour(s)` : ' (by size only)'}; ${l.keep} file(s) kept`,
      );
    };
    const changes = [values.level, values['rotate-size'], values['rotate-hours'], values.keep].some((v) => v !== undefined);
    if (positionals.length === 0 && !changes) return show();
    if (positionals[0]?.toLowerCase() !== 'mail_logs' || positionals.length > 1) throw new CommandError(`Only the mail log ("mail_logs") has settings here.\nUsage: ${this.usage.join('\n       ')}`);
    let level: MailLogLevel | undefined;
    if (values.level !== undefined) {
      const v = values.level.trim().toLowerCase() === 'information' ? 'info' : values.level.trim().toLowerCase();
      if (!(MAIL_LOG_LEVELS as readonly string[]).includes(v)) throw new CommandError(`--level must be one of ${MAIL_LOG_LEVELS.join(', ')}; not "${values.level}".`);
      level = v as MailLogLevel;
    } else if (!changes) {
      if (!io.interactive) throw new CommandError(`logconfig mail_logs: give --level or a rollover setting.\nUsage: ${this.usage[1]}`);
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
