import { type Io, InvalidAnswer } from '../../shell/io.js';
import type { Session } from '../../shell/session.js';
import { checkName } from '../../store/answers.js';
import { addBounceProfile } from '../../store/bounces/edits.js';
import { byName } from '../../store/named.js';
import { BOUNCE_DEFAULTS, BOUNCE_LIMITS, type BounceProfile, DELAY_WARNING_DEFAULTS } from '../../store/bounces/profiles.js';
import { emailProblem } from '../../store/grammar.js';

/** A bounce profile's settings as the appliance's bounceconfig asks for them (NEW and EDIT; destconfig's "New Profile"). */
export async function askBounceSettings(io: Io, base: Omit<BounceProfile, 'name'>): Promise<Omit<BounceProfile, 'name'>> {
  const maxRetries = await io.askInt('Please enter the maximum number of retries.', { default: base.maxRetries, ...BOUNCE_LIMITS.maxRetries });
  const maxQueueSeconds = await io.askInt('Please enter the maximum number of seconds a message may stay in the queue before being hard bounced.', { default: base.maxQueueSeconds, ...BOUNCE_LIMITS.maxQueueSeconds });
  const retryInitialSeconds = await io.askInt('Please enter the initial number of seconds to wait before retrying a message.', { default: base.retryInitialSeconds, ...BOUNCE_LIMITS.retryInitialSeconds });
  const retryMaxSeconds = await io.askInt('Please enter the maximum number of seconds to wait before retrying a message.', {
    default: Math.max(base.retryMaxSeconds, retryInitialSeconds),
    min: retryInitialSeconds,
    max: BOUNCE_LIMITS.retryMaxSeconds.max,
  });
  const hardBounces = await io.confirm('Do you want a message sent for each hard bounce?', base.hardBounces);
  let delayWarnings: BounceProfile['delayWarnings'] = null;
  if (await io.confirm('Do you want to send a delay warning message?', base.delayWarnings !== null)) {
    const was = base.delayWarnings ?? DELAY_WARNING_DEFAULTS;
    const intervalSeconds = await io.askInt('Please enter the minimum number of seconds to wait between delay warning messages.', { default: was.intervalSeconds, ...BOUNCE_LIMITS.intervalSeconds });
    const maxWarnings = await io.askInt('Please enter the maximum number of delay warning messages to send.', { default: was.maxWarnings, ...BOUNCE_LIMITS.maxWarnings });
    delayWarnings = { intervalSeconds, maxWarnings };
  }
  let alternateAddress: string | null = null;
  if (await io.confirm('Do you want hard bounce and delay warning messages sent to an alternate address, instead of the sender?', base.alternateAddress !== null)) {
    alternateAddress = await io.ask('Please enter the email address to send hard bounce and delay warning messages to:', {
      ...(base.alternateAddress ? { default: base.alternateAddress } : {}),
      validate: (s) => {
        const problem = emailProblem(s);
        if (problem) throw new InvalidAnswer(problem);
        return s;
      },
    });
  }
  return { maxRetries, maxQueueSeconds, retryInitialSeconds, retryMaxSeconds, hardBounces, delayWarnings, alternateAddress };
}

/** A profile's settings in the words the shell and the GUI use. */
export function describeBounceProfile(p: BounceProfile): string[] {
  return [
    `    Maximum number of retries: ${p.maxRetries}`,
    `    Maximum time in queue: ${p.maxQueueSeconds} seconds`,
    `    Initial retry interval: ${p.retryInitialSeconds} seconds (doubling each time)`,
    `    Maximum retry interval: ${p.retryMaxSeconds} seconds`,
    `    Hard bounce messages: ${p.hardBounces ? 'Yes' : 'No'}`,
    `    Delay warnings: ${p.delayWarnings ? `Yes, every ${p.delayWarnings.intervalSeconds} seconds at most, ${p.delayWarnings.maxWarnings} at most` : 'No'}`,
    `    Bounce and warning messages go to: ${p.alternateAddress ?? 'the envelope sender'}`,
  ];
}

/** A new profile from its name and the questions, added to the draft (bounceconfig NEW, destconfig's "New Profile"); its name. */
export async function askNewBounceProfile(session: Session, question: string): Promise<string> {
  const name = await session.io.ask(question, {
    validate: (s) => {
      checkName(s);
      if (byName(session.draft.bounceProfiles, s)) throw new InvalidAnswer(`A bounce profile named "${s}" already exists.`);
      return s;
    },
  });
  const settings = await askBounceSettings(session.io, { ...BOUNCE_DEFAULTS });
  session.draft = addBounceProfile(session.draft, { name, ...settings });
  return name;
}
