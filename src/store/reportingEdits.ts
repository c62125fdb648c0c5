import { editConfig } from './edit.js';
import type { Config, MailLogLevel } from './schema.js';

/** Edits of logconfig (mail log level) and tlsrptconfig (daily TLS reports). */

export function setMailLogLevel(config: Config, level: MailLogLevel): Config {
  return editConfig(config, (draft) => {
    draft.logs.mailLevel = level;
  });
}

export function setTlsRpt(config: Config, changes: Partial<Config['tlsrpt']>): Config {
  return editConfig(config, (draft) => Object.assign(draft.tlsrpt, changes));
}
