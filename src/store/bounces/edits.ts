import { editConfig } from '../edit.js';
import { assertFreeName, indexByName } from '../named.js';
import { type Config, ConfigError, sameName } from '../schema.js';
import { type BounceProfile, isDefaultProfile } from './profiles.js';

/** Edits of the bounce profiles (bounceconfig) and the question of who uses one. */

/** The destination control entries that name a profile ("Default" for the default entry). */
export function profileUsers(config: Config, name: string): string[] {
  const d = config.delivery;
  return [...(sameName(d.defaults.bounceProfile, name) ? ['the default destination entry'] : []), ...d.destinations.filter((e) => e.bounceProfile !== undefined && sameName(e.bounceProfile, name)).map((e) => e.domain)];
}

/** A new profile: the given settings over the appliance's defaults. */
export function addBounceProfile(config: Config, settings: Partial<BounceProfile> & { name: string }): Config {
  assertFreeName(config.bounceProfiles, settings.name, 'A bounce profile');
  return editConfig(config, (draft) => {
    // The schema fills in the defaults (and refuses what is out of range) when the draft is validated.
    draft.bounceProfiles.push(settings as BounceProfile);
  });
}

/** Change settings of a profile (the name stays: destination entries refer to it). */
export function editBounceProfile(config: Config, name: string, changes: Partial<Omit<BounceProfile, 'name'>>): Config {
  const index = indexByName(config.bounceProfiles, name, 'bounce profile');
  return editConfig(config, (draft) => {
    draft.bounceProfiles[index] = { ...draft.bounceProfiles[index]!, ...changes };
  });
}

/** "Default" stays, and a profile a destination entry names cannot go (the entry would lose its settings). */
export function deleteBounceProfile(config: Config, name: string): Config {
  const index = indexByName(config.bounceProfiles, name, 'bounce profile');
  const profile = config.bounceProfiles[index]!;
  if (isDefaultProfile(profile.name)) throw new ConfigError('The bounce profile "Default" cannot be deleted; change its settings with "bounceconfig edit Default".');
  const users = profileUsers(config, profile.name);
  if (users.length) throw new ConfigError(`The bounce profile "${profile.name}" is used by ${users.join(', ')}; choose another profile there first (destconfig … --bounce-profile).`);
  return editConfig(config, (draft) => {
    draft.bounceProfiles.splice(index, 1);
  });
}
