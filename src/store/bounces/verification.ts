import { z } from 'zod';

/**
 * Bounce verification (bvconfig): the keys that tag the envelope sender of outgoing mail (BATV,
 * "prvs=" addresses), so a bounce that comes back can be told from backscatter. The newest key
 * tags; every key still here verifies (keys are kept a while after a newer one comes).
 */

export const MAX_TAGGING_KEYS = 10;

export const TaggingKeySchema = z.object({
  /** The first 8 hex digits of the key's SHA-256, to name it (the key itself is never shown). */
  name: z.string().regex(/^[0-9a-f]{8}$/),
  /** The digit a tag carries to say which key made it (0-9). */
  number: z.number().int().min(0).max(9),
  /** 32 random bytes, hex; a secret, never shown. */
  tagKey: z.string().regex(/^[0-9a-f]{64}$/, 'is not a tagging key'),
  created: z.string(),
});

/** What happens to a bounce that fails verification: refused (550), or delivered with a header that says why. */
export const INVALID_BOUNCE_ACTIONS = ['reject', 'header'] as const;
export type InvalidBounceAction = (typeof INVALID_BOUNCE_ACTIONS)[number];
export const INVALID_BOUNCE_HEADER = 'X-Bounce-Verification';

export const BounceVerificationSchema = z.object({
  keys: z.array(TaggingKeySchema).max(MAX_TAGGING_KEYS).default(() => []),
  invalidAction: z.enum(INVALID_BOUNCE_ACTIONS).default('reject'),
});

export type TaggingKey = z.infer<typeof TaggingKeySchema>;
export type BounceVerification = z.infer<typeof BounceVerificationSchema>;

/** The key that tags new mail: the newest. */
export const taggingKey = (bv: BounceVerification): TaggingKey | undefined => bv.keys.at(-1);
