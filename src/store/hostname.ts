import { editConfig } from './edit.js';
import type { Config } from './schema.js';

/** The appliance host name: shell prompt, SMTP banner and Received headers. */
export function setHostname(config: Config, hostname: string): Config {
  return editConfig(config, (draft) => {
    draft.hostname = hostname.trim().toLowerCase();
  });
}
