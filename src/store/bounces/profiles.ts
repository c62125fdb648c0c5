import { z } from 'zod';
import { emailProblem } from '../grammar.js';
import { objectName } from '../objectName.js';

/**
 * Bounce profiles (bounceconfig): how long and how often a message is retried, when it is given up
 * (hard bounced), and what the sender hears about it. A destination control entry names the
 * profile its mail follows; the profile "Default" always exists and cannot be deleted.
 */

export const DEFAULT_BOUNCE_PROFILE = 'Default';

/** The appliance's defaults for the profile "Default". */
export const BOUNCE_DEFAULTS = {
  maxRetries: 100,
  maxQueueSeconds: 259200,
  retryInitialSeconds: 60,
  retryMaxSeconds: 3600,
  hardBounces: true,
  delayWarnings: null,
  alternateAddress: null,
} as const;

export const DELAY_WARNING_DEFAULTS = { intervalSeconds: 14400, maxWarnings: 1 } as const;

/** The limits the shell's questions and the schema share. */
export const BOUNCE_LIMITS = {
  maxRetries: { min: 0, max: 10000 },
  maxQueueSeconds: { min: 60, max: 30 * 86400 },
  retryInitialSeconds: { min: 1, max: 86400 },
  retryMaxSeconds: { min: 1, max: 7 * 86400 },
  intervalSeconds: { min: 1, max: 30 * 86400 },
  maxWarnings: { min: 1, max: 100 },
} as const;

const limited = (k: keyof typeof BOUNCE_LIMITS) => z.number().int().min(BOUNCE_LIMITS[k].min).max(BOUNCE_LIMITS[k].max);

export const BounceProfileSchema = z
  .object({
    name: objectName,
    /** Retries after the first attempt; one more temporary failure and the recipient is bounced. */
    maxRetries: limited('maxRetries').default(BOUNCE_DEFAULTS.maxRetries),
    /** A message still undelivered after this long is bounced. */
    maxQueueSeconds: limited('maxQueueSeconds').default(BOUNCE_DEFAULTS.maxQueueSeconds),
    /** First retry after this many seconds; each retry waits twice as long, up to retryMaxSeconds. */
    retryInitialSeconds: limited('retryInitialSeconds').default(BOUNCE_DEFAULTS.retryInitialSeconds),
    retryMaxSeconds: limited('retryMaxSeconds').default(BOUNCE_DEFAULTS.retryMaxSeconds),
    /** A DSN (RFC 3464) for each hard bounce; off: the recipient is dropped with a log line only. */
    hardBounces: z.boolean().default(true),
    /** "Delayed" DSNs while a message waits: the first after intervalSeconds in the queue, then at most every intervalSeconds, at most maxWarnings. */
    delayWarnings: z.object({ intervalSeconds: limited('intervalSeconds'), maxWarnings: limited('maxWarnings') }).nullable().default(null),
    /** Bounces and delay warnings go here instead of to the envelope sender. */
    alternateAddress: z
      .string()
      .refine((s) => emailProblem(s) === undefined, 'is not an email address')
      .nullable()
      .default(null),
  })
  .refine((p) => p.retryMaxSeconds >= p.retryInitialSeconds, { message: 'the maximum retry interval cannot be less than the initial one', path: ['retryMaxSeconds'] });

export type BounceProfile = z.infer<typeof BounceProfileSchema>;

export const defaultBounceProfile = (): BounceProfile => BounceProfileSchema.parse({ name: DEFAULT_BOUNCE_PROFILE });

/** The list as read: "Default" is added when a document has none, so every reference to it resolves. */
export const BounceProfilesSchema = z
  .array(BounceProfileSchema)
  .default(() => [defaultBounceProfile()])
  .transform((list) => (list.some((p) => isDefaultProfile(p.name)) ? list : [defaultBounceProfile(), ...list]));

export const isDefaultProfile = (name: string): boolean => name.toLowerCase() === DEFAULT_BOUNCE_PROFILE.toLowerCase();

/** The profile a destination names; "Default" when the name is unknown (the schema refuses that in a configuration). */
export function bounceProfile(profiles: readonly BounceProfile[], name: string): BounceProfile {
  const key = name.toLowerCase();
  return profiles.find((p) => p.name.toLowerCase() === key) ?? profiles.find((p) => isDefaultProfile(p.name)) ?? defaultBounceProfile();
}
