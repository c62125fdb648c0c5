import { createHmac, timingSafeEqual } from 'node:crypto';
import type { TaggingKey } from '../store/bounces/verification.js';

/**
 * Bounce address tags (BATV, draft-levine-smtp-batv "prvs"): the envelope sender user@example.com
 * goes out as prvs=KDDDSSSSSS=user@example.com, where K names the key, DDD is the day the tag
 * expires (days since 1970, modulo 1000) and SSSSSS the first three bytes of an HMAC-SHA1 over
 * K, DDD and the address. A bounce must come back to a tag that verifies within the week.
 */

const DAY_MS = 86_400_000;
/** A tag verifies for this many days (the draft's suggestion). */
export const TAG_DAYS = 7;
const TAG_RE = /^prvs=(\d)(\d{3})([0-9a-f]{6})=(.+@[^@]+)$/i;

const day = (now: number) => Math.floor(now / DAY_MS) % 1000;
const signature = (key: TaggingKey, k: string, ddd: string, address: string) =>
  createHmac('sha1', Buffer.from(key.tagKey, 'hex')).update(`${k}${ddd}${address.toLowerCase()}`).digest('hex').slice(0, 6);

/** The tagged sender; unchanged when there is nothing to tag (a null sender, a tag already, a local part that would grow past 64). */
export function tagSender(from: string, key: TaggingKey, now = Date.now()): string {
  if (!from || TAG_RE.test(from)) return from;
  const at = from.lastIndexOf('@');
  if (at < 0 || at + 16 > 64) return from;
  const k = String(key.number);
  const ddd = String((day(now) + TAG_DAYS) % 1000).padStart(3, '0');
  return `prvs=${k}${ddd}${signature(key, k, ddd, from)}=${from}`;
}

export type TagCheck = { tag: 'none' } | { tag: 'valid'; address: string } | { tag: 'invalid'; address: string; why: string };

/** What a recipient's tag says: none, valid (with the address it stands for) or invalid (and why). */
export function checkTag(recipient: string, keys: readonly TaggingKey[], now = Date.now()): TagCheck {
  const m = TAG_RE.exec(recipient);
  if (!m) return { tag: 'none' };
  const [, k, ddd, sig, address] = m as unknown as [string, string, string, string, string];
  const key = keys.find((x) => String(x.number) === k);
  if (!key) return { tag: 'invalid', address, why: 'made with a key that is no longer kept' };
  const daysLeft = (Number(ddd) - day(now) + 1000) % 1000;
  if (daysLeft > TAG_DAYS) return { tag: 'invalid', address, why: 'expired' };
  const expected = Buffer.from(signature(key, k, ddd, address));
  if (!timingSafeEqual(expected, Buffer.from(sig.toLowerCase()))) return { tag: 'invalid', address, why: 'the signature does not match' };
  return { tag: 'valid', address };
}
