import { createHash, randomBytes } from 'node:crypto';
import { editConfig } from '../edit.js';
import { type Config, ConfigError } from '../schema.js';
import { type InvalidBounceAction, MAX_TAGGING_KEYS, type TaggingKey } from './verification.js';

/** Edits of the bounce verification keys (bvconfig). */

/** A new random key, which tags from the next commit on; the oldest goes when there are already ten. */
export function addTaggingKey(config: Config, now = new Date()): { config: Config; key: TaggingKey } {
  const tagKey = randomBytes(32).toString('hex');
  const keys = config.bounceVerification.keys;
  const last = keys.at(-1);
  const key: TaggingKey = { name: createHash('sha256').update(tagKey).digest('hex').slice(0, 8), number: last ? (last.number + 1) % 10 : 0, tagKey, created: now.toISOString() };
  const next = editConfig(config, (draft) => {
    draft.bounceVerification.keys = [...keys.slice(keys.length >= MAX_TAGGING_KEYS ? 1 : 0), key];
  });
  return { config: next, key };
}

/** Keep only the newest key: tags made with the others (up to a week old) no longer verify. */
export function purgeTaggingKeys(config: Config): Config {
  if (config.bounceVerification.keys.length < 2) throw new ConfigError('There are no older keys to purge.');
  return editConfig(config, (draft) => {
    draft.bounceVerification.keys = draft.bounceVerification.keys.slice(-1);
  });
}

/** No keys: nothing is tagged, and untagged bounces are accepted whatever the listeners say. */
export function clearTaggingKeys(config: Config): Config {
  if (config.bounceVerification.keys.length === 0) throw new ConfigError('There are no tagging keys.');
  return editConfig(config, (draft) => {
    draft.bounceVerification.keys = [];
  });
}

/** bvconfig SETUP: a bounce that fails verification is refused, or delivered with a header saying why. */
export function setInvalidBounceAction(config: Config, action: InvalidBounceAction): Config {
  return editConfig(config, (draft) => {
    draft.bounceVerification.invalidAction = action;
  });
}
