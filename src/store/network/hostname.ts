import { editConfig } from '../edit.js';
import { isHostname, hostnameProblem } from '../grammar.js';
import { type Config, ConfigError } from '../schema.js';

/** The appliance host name: shell prompt, SMTP banner and Received headers. */
export function setHostname(config: Config, hostname: string): Config {
  const name = hostname.trim().toLowerCase();
  if (!isHostname(name)) throw new ConfigError(hostnameProblem(name) ?? `"${name}" is an IP address; the appliance needs a host name.`);
  return editConfig(config, (draft) => {
    draft.hostname = name;
  });
}
