import { type Command, parseOptions, required, takeWords } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import type { Session } from '../../shell/session.js';
import { checkName, optionalCount, parseYesNo } from '../../store/answers.js';
import { addBounceProfile, deleteBounceProfile, editBounceProfile, profileUsers } from '../../store/bounces/edits.js';
import { BOUNCE_DEFAULTS, BOUNCE_LIMITS, type BounceProfile, bounceProfile, DELAY_WARNING_DEFAULTS } from '../../store/bounces/profiles.js';
import { emailProblem } from '../../store/grammar.js';
import { notFound } from '../../store/edit.js';
import { byName } from '../../store/named.js';
import { askBounceSettings, askNewBounceProfile, describeBounceProfile } from './questions.js';

const OPTIONS = {
  'max-retries': { type: 'string' },
  'max-queue-time': { type: 'string' },
  'retry-initial': { type: 'string' },
  'retry-max': { type: 'string' },
  'hard-bounces': { type: 'string' },
  'delay-warnings': { type: 'string' },
  'warning-interval': { type: 'string' },
  'max-warnings': { type: 'string' },
  'alternate-address': { type: 'string' },
} as const;

type Settings = Partial<Omit<BounceProfile, 'name'>>;

/** The batch options as settings over `base` (the profile edited, or the defaults of a new one). */
function settingsFrom(values: Record<string, string | undefined>, base: Omit<BounceProfile, 'name'>): Settings {
  const out: Settings = {};
  const count = (option: keyof typeof OPTIONS, limit: keyof typeof BOUNCE_LIMITS) => optionalCount(values[option], `--${option}`, BOUNCE_LIMITS[limit]);
  const retries = count('max-retries', 'maxRetries');
  if (retries !== undefined) out.maxRetries = retries;
  const queue = count('max-queue-time', 'maxQueueSeconds');
  if (queue !== undefined) out.maxQueueSeconds = queue;
  const initial = count('retry-initial', 'retryInitialSeconds');
  if (initial !== undefined) out.retryInitialSeconds = initial;
  const max = count('retry-max', 'retryMaxSeconds');
  if (max !== undefined) out.retryMaxSeconds = max;
  if (values['hard-bounces'] !== undefined) out.hardBounces = parseYesNo(values['hard-bounces'], '--hard-bounces');
  const interval = count('warning-interval', 'intervalSeconds');
  const most = count('max-warnings', 'maxWarnings');
  const warnings = values['delay-warnings'] === undefined ? undefined : parseYesNo(values['delay-warnings'], '--delay-warnings');
  if (warnings === false) {
    if (interval !== undefined || most !== undefined) throw new CommandError('--warning-interval and --max-warnings need --delay-warnings yes.');
    out.delayWarnings = null;
  } else if (warnings || interval !== undefined || most !== undefined) {
    if (!warnings && base.delayWarnings === null) throw new CommandError('Delay warnings are off in this profile: add --delay-warnings yes.');
    const was = base.delayWarnings ?? DELAY_WARNING_DEFAULTS;
    out.delayWarnings = { intervalSeconds: interval ?? was.intervalSeconds, maxWarnings: most ?? was.maxWarnings };
  }
  const alternate = values['alternate-address'];
  if (alternate !== undefined) {
    const problem = alternate.toLowerCase() === 'none' ? undefined : emailProblem(alternate);
    if (problem) throw new CommandError(`--alternate-address: ${problem}`);
    out.alternateAddress = alternate.toLowerCase() === 'none' ? null : alternate;
  }
  return out;
}

function detail(session: Session, p: BounceProfile): string[] {
  const users = profileUsers(session.draft, p.name);
  return [`${p.name}:`, ...describeBounceProfile(p), `    Used by: ${users.length ? users.join(', ') : 'no destination control entry'}`];
}

const list = (session: Session) => session.draft.bounceProfiles.map((p, i) => `${i + 1}. ${p.name}`);

function dialog(session: Session): Promise<void> {
  const io = session.io;
  const pick = (question: string, profiles = session.draft.bounceProfiles) => io.choose(question, profiles.map((p) => ({ label: p.name, value: p.name })));
  return io.menuLoop(
    () => io.print('', 'Current bounce profiles:', ...list(session)),
    [
      {
        keyword: 'NEW',
        text: 'Create a new profile.',
        run: async () => {
          const name = await askNewBounceProfile(session, 'Please create a name for the profile:');
          io.print(`Bounce profile "${name}" created; destination control entries use it with "destconfig edit DOMAIN --bounce-profile ${name}".`);
        },
      },
      {
        keyword: 'EDIT',
        text: 'Modify a profile.',
        run: async () => {
          const name = await pick('Please choose the profile to edit:');
          session.draft = editBounceProfile(session.draft, name, await askBounceSettings(io, bounceProfile(session.draft.bounceProfiles, name)));
        },
      },
      {
        keyword: 'DELETE',
        text: 'Remove a profile.',
        run: async () => {
          const removable = session.draft.bounceProfiles.filter((p) => p.name !== 'Default');
          if (!removable.length) return io.print('There are no profiles to delete ("Default" stays).');
          const name = await pick('Please choose the profile to delete:', removable);
          session.draft = deleteBounceProfile(session.draft, name);
          io.print(`Bounce profile "${name}" deleted.`);
        },
      },
      {
        keyword: 'PRINT',
        text: 'Display the settings of every profile.',
        run: async () => io.print(...session.draft.bounceProfiles.flatMap((p) => detail(session, p))),
      },
    ],
  );
}

export const bounceconfig: Command = {
  name: 'bounceconfig',
  summary: 'Bounce profiles: retries, time in queue, bounce and delay-warning messages',
  usage: [
    'bounceconfig',
    'bounceconfig new NAME [--max-retries N] [--max-queue-time S] [--retry-initial S] [--retry-max S] [--hard-bounces yes|no] [--delay-warnings yes|no] [--warning-interval S] [--max-warnings N] [--alternate-address ADDRESS|none]',
    'bounceconfig edit NAME [same options]',
    'bounceconfig delete NAME',
    'bounceconfig list',
    'bounceconfig detail NAME|all',
  ],
  details: [
    'A destination control entry names the profile its mail follows (destconfig --bounce-profile);',
    'the profile "Default" always exists and serves the default entry unless it names another.',
    'A temporary failure is retried after --retry-initial seconds, twice as long each time up to',
    '--retry-max. A recipient is hard bounced after --max-retries retries or --max-queue-time seconds',
    'in the queue, whichever comes first, and at once on a permanent (5xx) failure.',
    '--hard-bounces no: no DSN goes out for a hard bounce (the mail log still records it).',
    '--delay-warnings yes: a "delayed" DSN (RFC 3464) once a message has waited --warning-interval',
    'seconds, then at most every --warning-interval seconds, --max-warnings at most.',
    '--alternate-address: bounce and warning messages go there instead of to the envelope sender.',
    'Mail with an empty envelope sender (bounces themselves) never gets a bounce or a warning.',
  ],
  keywords: ['new', 'edit', 'delete', 'list', 'detail'],
  names: (c) => c.bounceProfiles.map((p) => p.name),
  async run(session, args) {
    if (args.length === 0) return dialog(session);
    const [verb, ...rest] = args;
    const { values, positionals } = parseOptions(this, rest, OPTIONS);
    const io = session.io;
    const op = verb!.toLowerCase();
    const name = takeWords(this, positionals, ['new', 'edit', 'delete', 'detail'].includes(op) ? 1 : 0)[0];
    switch (op) {
      case 'new': {
        const n = checkName(required(this, name, 'NAME'));
        session.draft = addBounceProfile(session.draft, { name: n, ...settingsFrom(values, BOUNCE_DEFAULTS) });
        io.print(...detail(session, bounceProfile(session.draft.bounceProfiles, n)));
        return;
      }
      case 'edit': {
        const n = required(this, name, 'NAME');
        const changes = settingsFrom(values, bounceProfile(session.draft.bounceProfiles, n));
        if (Object.keys(changes).length === 0) throw new CommandError(`Nothing to change.\nUsage: ${this.usage[2]}`);
        session.draft = editBounceProfile(session.draft, n, changes);
        io.print(...detail(session, byName(session.draft.bounceProfiles, n)!));
        return;
      }
      case 'delete':
        session.draft = deleteBounceProfile(session.draft, required(this, name, 'NAME'));
        io.print(`Bounce profile "${name}" deleted.`);
        return;
      case 'list':
        io.print(...list(session));
        return;
      case 'detail': {
        const which = required(this, name, 'NAME or all');
        const profiles = which.toLowerCase() === 'all' ? session.draft.bounceProfiles : [byName(session.draft.bounceProfiles, which)];
        if (!profiles[0]) throw notFound('bounce profile', which, session.draft.bounceProfiles.map((p) => p.name));
        io.print(...profiles.flatMap((p) => detail(session, p!)));
        return;
      }
      default:
        throw new CommandError(`Unknown operation "${verb}".\nUsage: ${this.usage.join('\n       ')}`);
    }
  },
};
