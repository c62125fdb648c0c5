import { presentedProfile } from '../certificates/certificates.js';
import type { Config } from '../schema.js';
import { addGroupPattern, addRcptDomain, setListenerCertificate } from './policy.js';

/**
 * What a commit should say of the public listeners it adds or changes that cannot do their job
 * yet: one accepting mail for no domain (every recipient refused), one presenting the
 * demonstration certificate. Listeners the commit leaves alone are not repeated each time.
 */
export function listenerNotes(from: Config, to: Config): string[] {
  const notes: string[] = [];
  for (const l of to.listeners) {
    if (l.type !== 'public') continue;
    const before = from.listeners.find((x) => x.name === l.name);
    if (before && JSON.stringify(before) === JSON.stringify(l)) continue;
    if (l.rcptAccess.length === 0) notes.push(`listener ${l.name} accepts mail for no domain: every recipient is refused until "listenerconfig edit ${l.name} rcptaccess add DOMAIN".`);
    if (presentedProfile(to, l.certificate)?.demo) notes.push(`listener ${l.name} presents the demonstration certificate, which senders that verify refuse: choose one with "listenerconfig edit ${l.name} certificate PROFILE".`);
  }
  return notes;
}

/** What a new listener is given at creation besides its address: the guide's "accept mail for" / "relay email" and its certificate. */
export interface FirstSteps {
  /** Public: the recipient access table (domains, ".domain", ALL). */
  domains?: string[];
  /** Private: the hosts of the RELAYLIST sender group. */
  relayHosts?: string[];
  /** The certificate profile it presents; absent keeps the demonstration one. */
  certificate?: string;
}

export function withFirstSteps(config: Config, name: string, steps: FirstSteps): Config {
  let draft = config;
  for (const d of steps.domains ?? []) draft = addRcptDomain(draft, name, d);
  for (const h of steps.relayHosts ?? []) draft = addGroupPattern(draft, name, 'RELAYLIST', h);
  if (steps.certificate !== undefined) draft = setListenerCertificate(draft, name, steps.certificate);
  return draft;
}

/** A comma- or space-separated answer as its items ("a.example, .b.example" → two). */
export const listAnswer = (text: string): string[] => text.split(/[\s,]+/).filter(Boolean);
