import { shellTime } from '../../store/dates.js';
import { type Command, parseOptions, required, takeWords } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { InvalidAnswer } from '../../shell/io.js';
import type { Session } from '../../shell/session.js';
import { ALERT_CLASSES, ALERT_SEVERITIES, AlertRecipientSchema, CLASS_LABELS } from '../../store/alerts/alerts.js';
import { deleteAlertRecipient, parseClasses, parseSeverities, putAlertRecipient, setAlertSettings } from '../../store/alerts/edits.js';
import { optionalCount } from '../../store/answers.js';

const SEVERITY_LABELS: Record<(typeof ALERT_SEVERITIES)[number], string> = { all: 'All', critical: 'Critical', warning: 'Warning', information: 'Information' };

function show(session: Session): void {
  const a = session.draft.alerts;
  session.io.print('', 'Sending alerts to:');
  if (a.recipients.length === 0) session.io.print('    (nobody)');
  for (const r of a.recipients) {
    session.io.print(`    ${r.email}`, `        Class: ${r.classes.map((c) => CLASS_LABELS[c]).join(', ')} - Severities: ${r.severities.map((s) => SEVERITY_LABELS[s]).join(', ')}`);
  }
  session.io.print('', `Initial number of seconds to wait before sending a duplicate alert: ${a.initialSeconds}`, `Maximum number of seconds to wait before sending a duplicate alert: ${a.maxSeconds}`, `Maximum number of alerts to save: ${a.keep}`, `Alerts are sent from: ${a.from ?? `alert@${session.draft.hostname} (default)`}`);
}

const numbered = <T extends string>(all: readonly T[], answer: string): T[] =>
  answer.split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 1 || n > all.length) throw new InvalidAnswer(`Choose numbers from 1 to ${all.length}, separated by commas.`);
    return all[n - 1]!;
  });

async function askRecipient(session: Session, email: string) {
  const io = session.io;
  io.print('Choose the Alert Class(es). Separate multiple choices with commas.');
  ALERT_CLASSES.forEach((c, i) => io.print(`${i + 1}. ${CLASS_LABELS[c]}`));
  const classes = await io.ask('', { default: '1', validate: (s) => numbered(ALERT_CLASSES, s) });
  io.print('Select a Severity Level. Separate multiple choices with commas.');
  ALERT_SEVERITIES.forEach((s, i) => io.print(`${i + 1}. ${SEVERITY_LABELS[s]}`));
  const severities = await io.ask('', { default: '1', validate: (s) => numbered(ALERT_SEVERITIES, s) });
  return { email, classes: [...new Set(classes)], severities: [...new Set(severities)] };
}

const isEmail = (s: string) => AlertRecipientSchema.shape.email.safeParse(s).success;

const checkEmail = (s: string) => {
  if (!isEmail(s)) throw new InvalidAnswer(`"${s}" is not an email address.`);
  return s;
};

function dialog(session: Session): Promise<void> {
  const io = session.io;
  const pick = (q: string) => io.choose(q, session.draft.alerts.recipients.map((r) => ({ label: r.email, value: r.email })));
  return io.menuLoop(() => show(session), [
    {
      keyword: 'NEW',
      text: 'Add a new email address to send alerts.',
      run: async () => {
        const email = await io.ask('Please enter a new email address to send alerts.', { validate: checkEmail });
        session.draft = putAlertRecipient(session.draft, await askRecipient(session, email), { create: true });
      },
    },
    {
      keyword: 'EDIT',
      text: 'Modify an email address.',
      run: async () => {
        if (!session.draft.alerts.recipients.length) return io.print('Nobody receives alerts yet.');
        const email = await pick('Select the email address you want to edit.');
        session.draft = putAlertRecipient(session.draft, await askRecipient(session, email), { create: false });
      },
    },
    {
      keyword: 'DELETE',
      text: 'Remove an email address.',
      run: async () => {
        if (!session.draft.alerts.recipients.length) return io.print('Nobody receives alerts yet.');
        session.draft = deleteAlertRecipient(session.draft, await pick('Select the email address you want to delete.'));
      },
    },
    {
      keyword: 'CLEAR',
      text: 'Remove all email addresses (disable alerts).',
      run: async () => {
        if (await io.confirm('Do you want to remove every alert recipient?', false)) session.draft = setAlertSettings(session.draft, { recipients: [] });
      },
    },
    {
      keyword: 'SETUP',
      text: 'Configure alert settings.',
      run: async () => {
        const a = session.draft.alerts;
        const initialSeconds = await io.askInt('Enter the Initial number of seconds to wait before sending a duplicate alert. Enter 0 to send every duplicate.', { default: a.initialSeconds, min: 0, max: 86400 });
        const maxSeconds = await io.askInt('Enter the Maximum number of seconds to wait before sending a duplicate alert.', { default: Math.max(a.maxSeconds, initialSeconds), min: initialSeconds, max: 604800 });
        const keep = await io.askInt('Enter the Maximum number of alerts to save.', { default: a.keep, min: 1, max: 1000 });
        session.draft = setAlertSettings(session.draft, { initialSeconds, maxSeconds, keep });
      },
    },
    {
      keyword: 'FROM',
      text: 'Configure the From: address of alert emails.',
      run: async () => {
        const from = await io.ask('Enter the From: address to use for alerts (empty: the default).', { default: '', allowEmpty: true, validate: (s) => (s === '' ? s : checkEmail(s)) });
        session.draft = setAlertSettings(session.draft, { from: from || null });
      },
    },
  ]);
}

export const alertconfig: Command = {
  name: 'alertconfig',
  summary: 'Who receives alerts (classes, severities), their From: address, duplicate damping',
  usage: [
    'alertconfig',
    'alertconfig list',
    'alertconfig new EMAIL --classes all|system,… --severities all|critical,warning,…',
    'alertconfig edit EMAIL --classes … --severities …',
    'alertconfig delete EMAIL',
    'alertconfig clear',
    'alertconfig from ADDRESS|default',
    'alertconfig setup [--initial-seconds N] [--max-seconds N] [--keep N]',
  ],
  details: [`Classes: ${ALERT_CLASSES.join(', ')}. Severities: ${ALERT_SEVERITIES.join(', ')}.`, 'A failed required TLS delivery raises a System / Warning alert, a DANE failure a Message Delivery / Warning alert (both turned on with destconfig setup).'],
  keywords: ['list', 'new', 'edit', 'delete', 'clear', 'from', 'setup'],
  names: (c) => c.alerts.recipients.map((r) => r.email),
  async run(session, args) {
    if (args.length === 0) return dialog(session);
    const [verb, ...rest] = args;
    const { values, positionals } = parseOptions(this, rest, {
      classes: { type: 'string' },
      severities: { type: 'string' },
      'initial-seconds': { type: 'string' },
      'max-seconds': { type: 'string' },
      keep: { type: 'string' },
    });
    const email = takeWords(this, positionals, ['new', 'edit', 'delete', 'from'].includes(verb!.toLowerCase()) ? 1 : 0)[0];
    switch (verb!.toLowerCase()) {
      case 'list':
        return show(session);
      case 'new':
      case 'edit': {
        const address = required(this, email, 'EMAIL');
        if (!isEmail(address)) throw new CommandError(`"${address}" is not an email address.`);
        const recipient = { email: address, classes: parseClasses(values.classes ?? 'all'), severities: parseSeverities(values.severities ?? 'all') };
        session.draft = putAlertRecipient(session.draft, recipient, { create: verb!.toLowerCase() === 'new' });
        return show(session);
      }
      case 'delete':
        session.draft = deleteAlertRecipient(session.draft, required(this, email, 'EMAIL'));
        return show(session);
      case 'clear':
        session.draft = setAlertSettings(session.draft, { recipients: [] });
        return show(session);
      case 'from': {
        const from = required(this, email, 'ADDRESS');
        if (from.toLowerCase() !== 'default' && !isEmail(from)) throw new CommandError(`"${from}" is not an email address.`);
        session.draft = setAlertSettings(session.draft, { from: from.toLowerCase() === 'default' ? null : from });
        return show(session);
      }
      case 'setup': {
        const initial = values['initial-seconds'] === '0' ? 0 : optionalCount(values['initial-seconds'], '--initial-seconds');
        const max = optionalCount(values['max-seconds'], '--max-seconds');
        const keep = optionalCount(values.keep, '--keep');
        session.draft = setAlertSettings(session.draft, { ...(initial !== undefined ? { initialSeconds: initial } : {}), ...(max !== undefined ? { maxSeconds: max } : {}), ...(keep !== undefined ? { keep } : {}) });
        return show(session);
      }
      default:
        throw new CommandError(`Unknown operation "${verb}".\nUsage: ${this.usage.join('\n       ')}`);
    }
  },
};

export const displayalerts: Command = {
  name: 'displayalerts',
  summary: 'List the most recent alerts',
  usage: ['displayalerts'],
  needsConfig: false,
  async run(session) {
    const alerts = await session.call('alerts');
    if (alerts.length === 0) return session.io.print('No alerts have been raised.');
    await session.io.page(
      alerts.map((a) => `${shellTime(a.time)}  ${a.severity.toUpperCase()}  (${CLASS_LABELS[a.cls]}) ${a.summary}  ${a.suppressed ? '[duplicate, not sent]' : a.sentTo.length ? `→ ${a.sentTo.join(', ')}` : '[no recipient]'}`),
    );
  },
};
