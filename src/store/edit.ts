import { type Config, ConfigError, validateConfig } from './schema.js';

/**
 * Every change to a draft goes through here: the change runs on a copy, the whole document is
 * validated, and only a valid result replaces the draft. A failed edit leaves the draft as it was.
 */
export function editConfig(config: Config, mutate: (draft: Config) => void): Config {
  const draft = structuredClone(config);
  mutate(draft);
  return validateConfig(draft);
}

export function notFound(kind: string, name: string, known: string[]): ConfigError {
  const list = known.length ? ` Known: ${known.join(', ')}.` : ` There are no ${kind}s.`;
  return new ConfigError(`No ${kind} named "${name}".${list}`);
}
