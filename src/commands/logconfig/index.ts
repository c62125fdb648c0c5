import { type Command, parseOptions } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { setMailLogLevel } from '../../store/reportingEdits.js';
import { MAIL_LOG_LEVELS, type MailLogLevel } from '../../store/schema.js';

/** The appliance's names for the levels (logconfig "Log level:" list). */
const LABELS: Record<MailLogLevel, string> = { critical: 'Critical', warning: 'Warning', info: 'Information', debug: 'Debug', trace: 'Trace' };

const OPTIONS = { level: { type: 'string' } } as const;

export const logconfig: Command = {
  name: 'logconfig',
  summary: 'Log settings: the mail log level',
  usage: ['logconfig', 'logconfig mail_logs --level critical|warning|info|debug|trace', 'logconfig mail_logs'],
  details: [
    'mail_logs is the text mail log (logs/mail_logs/mail.current). Lines more detailed than the level are',
    'not written: Information (the default) has the delivery and TLS lines; Debug adds, for example, the',
    'MTA-STS DNS queries and policy fetches; Trace adds everything else. Takes effect at "commit".',
  ],
  keywords: ['mail_logs'],
  async run(session, args) {
    const { values, positionals } = parseOptions(this, args, OPTIONS);
    const io = session.io;
    const show = () => io.print(`mail_logs: IronPort Text Mail Logs, log level ${LABELS[session.draft.logs.mailLevel]}`);
    if (positionals.length === 0 && values.level === undefined) return show();
    if (positionals[0]?.toLowerCase() !== 'mail_logs' || positionals.length > 1) throw new CommandError(`Only the mail log ("mail_logs") has settings here.\nUsage: ${this.usage.join('\n       ')}`);
    let level: MailLogLevel;
    if (values.level === undefined) {
      if (!io.interactive) throw new CommandError(`logconfig mail_logs: --level is required.\nUsage: ${this.usage[1]}`);
      level = await io.choose('Log level:', MAIL_LOG_LEVELS.map((l) => ({ label: LABELS[l], value: l })), MAIL_LOG_LEVELS.indexOf(session.draft.logs.mailLevel) + 1);
    } else {
      const v = values.level.trim().toLowerCase() === 'information' ? 'info' : values.level.trim().toLowerCase();
      if (!(MAIL_LOG_LEVELS as readonly string[]).includes(v)) throw new CommandError(`--level must be one of ${MAIL_LOG_LEVELS.join(', ')}; not "${values.level}".`);
      level = v as MailLogLevel;
    }
    session.draft = setMailLogLevel(session.draft, level);
    show();
  },
};
