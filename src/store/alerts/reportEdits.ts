import { editConfig } from '../edit.js';
import type { Config } from '../schema.js';

/** Edits of tlsrptconfig (daily TLS reports). */

export function setTlsRpt(config: Config, changes: Partial<Config['tlsrpt']>): Config {
  return editConfig(config, (draft) => Object.assign(draft.tlsrpt, changes));
}
