import { editConfig, notFound } from '../edit.js';
import { senderPatternProblem } from '../grammar.js';
import { findPolicy, findSenderGroup, type Hat, type PolicyAction, type PolicyParameters, stripDollar, type TlsLevel } from './hat.js';
import { findCertificate, presentedProfile } from '../certificates/certificates.js';
import { type Config, ConfigError, type Listener, sameName } from '../schema.js';

/** Edits of one listener's TLS certificate, host access table, recipient access table and limits. */

function listenerIndex(config: Config, name: string): number {
  const index = config.listeners.findIndex((l) => sameName(l.name, name));
  if (index < 0) throw notFound('listener', name, config.listeners.map((l) => l.name));
  return index;
}

function editListenerPart(config: Config, name: string, mutate: (l: Listener) => void): Config {
  const index = listenerIndex(config, name);
  return editConfig(config, (draft) => mutate(draft.listeners[index]!));
}

export function parseTlsLevel(value: string): TlsLevel {
  const v = value.trim().toLowerCase();
  if (v === 'no' || v === 'off' || v === '1') return 'off';
  if (v === 'preferred' || v === '2') return 'preferred';
  if (v === 'required' || v === '3') return 'required';
  throw new ConfigError(`TLS must be no, preferred or required, not "${value}".`);
}

export function parseAction(value: string): PolicyAction {
  const v = value.trim().toLowerCase();
  if (v === 'accept' || v === 'relay' || v === 'reject') return v;
  throw new ConfigError(`The action must be accept, relay or reject, not "${value}".`);
}

export function setListenerCertificate(config: Config, name: string, profile: string | null): Config {
  const p = profile === null ? undefined : findCertificate(config, profile);
  if (profile !== null && !p) throw notFound('certificate profile', profile, config.certificates.map((c) => c.name));
  return editListenerPart(config, name, (l) => {
    l.certificate = p?.name ?? null;
  });
}

export function setHatDefaults(config: Config, name: string, changes: Partial<PolicyParameters>): Config {
  return editListenerPart(config, name, (l) => Object.assign(l.hat.defaults, changes));
}

export function setPolicy(config: Config, name: string, policy: string, changes: Partial<PolicyParameters> & { action?: PolicyAction }): Config {
  const l = config.listeners[listenerIndex(config, name)]!;
  const exists = findPolicy(l.hat, policy);
  if (!exists && !changes.action) throw new ConfigError(`Listener ${l.name} has no policy $${stripDollar(policy)}; give --action to create it.`);
  return editListenerPart(config, name, (draft) => {
    const p = findPolicy(draft.hat, policy);
    if (p) Object.assign(p, changes);
    else draft.hat.policies.push({ name: stripDollar(policy), action: changes.action!, ...changes });
  });
}

export function addGroupPattern(config: Config, name: string, group: string, pattern: string, policy?: string): Config {
  const problem = senderPatternProblem(pattern);
  if (problem) throw new ConfigError(problem);
  const l = config.listeners[listenerIndex(config, name)]!;
  if (!findSenderGroup(l.hat, group) && !policy) throw new ConfigError(`Listener ${l.name} has no sender group ${group}; give --policy to create it.`);
  return editListenerPart(config, name, (draft) => {
    const g = findSenderGroup(draft.hat, group);
    if (g) {
      if (!g.patterns.includes(pattern)) g.patterns.push(pattern);
    } else {
      // A new group goes before the catch-all ALL group, as on the appliance.
      const all = draft.hat.senderGroups.findIndex((s) => s.name === 'ALL');
      const entry = { name: group, patterns: [pattern], policy: stripDollar(policy!), comment: '' };
      draft.hat.senderGroups.splice(all < 0 ? draft.hat.senderGroups.length : all, 0, entry);
    }
  });
}

export function removeGroupPattern(config: Config, name: string, group: string, pattern: string): Config {
  const l = config.listeners[listenerIndex(config, name)]!;
  const g = findSenderGroup(l.hat, group);
  if (!g) throw notFound('sender group', group, l.hat.senderGroups.map((s) => s.name));
  if (!g.patterns.includes(pattern)) throw new ConfigError(`Sender group ${g.name} has no entry "${pattern}".`);
  if (g.name === 'ALL' && pattern === 'ALL') {
    throw new ConfigError(`The ALL sender group is the catch-all for hosts no other group matches; it cannot be emptied. To refuse those hosts, give the policy it uses ($${stripDollar(g.policy)}) the REJECT action.`);
  }
  return editListenerPart(config, name, (draft) => {
    const dg = findSenderGroup(draft.hat, group)!;
    dg.patterns = dg.patterns.filter((p) => p !== pattern);
  });
}

/**
 * Put a sender group at a 1-based position. Groups are checked in order and the first match wins,
 * so the order is policy; the ALL group stays last, where it catches every host the others miss.
 */
export function moveSenderGroup(config: Config, name: string, group: string, position: number): Config {
  const l = config.listeners[listenerIndex(config, name)]!;
  const groups = l.hat.senderGroups;
  const from = groups.findIndex((g) => sameName(g.name, group));
  if (from < 0) throw notFound('sender group', group, groups.map((s) => s.name));
  const last = groups.findIndex((g) => g.name === 'ALL') === groups.length - 1 ? groups.length - 1 : groups.length;
  if (groups[from]!.name === 'ALL' && last < groups.length) throw new ConfigError('The ALL sender group stays last: it matches every host, so no group after it would ever be used.');
  if (!Number.isInteger(position) || position < 1 || position > last) throw new ConfigError(`The position must be from 1 to ${last}${last < groups.length ? ' (the ALL sender group stays last)' : ''}.`);
  return editListenerPart(config, name, (draft) => {
    const [moved] = draft.hat.senderGroups.splice(from, 1);
    draft.hat.senderGroups.splice(position - 1, 0, moved!);
  });
}

export function addRcptDomain(config: Config, name: string, domain: string): Config {
  return editListenerPart(config, name, (l) => {
    if (!l.rcptAccess.some((d) => d.toLowerCase() === domain.toLowerCase())) l.rcptAccess.push(domain);
  });
}

export function removeRcptDomain(config: Config, name: string, domain: string): Config {
  const l = config.listeners[listenerIndex(config, name)]!;
  if (!l.rcptAccess.some((d) => d.toLowerCase() === domain.toLowerCase())) throw new ConfigError(`Listener ${l.name} does not accept mail for "${domain}".`);
  return editListenerPart(config, name, (draft) => {
    draft.rcptAccess = draft.rcptAccess.filter((d) => d.toLowerCase() !== domain.toLowerCase());
  });
}

export function setLimits(config: Config, name: string, changes: Partial<Listener['limits']>): Config {
  return editListenerPart(config, name, (l) => Object.assign(l.limits, changes));
}

/** Is this listener going to present the demo certificate (explicitly or by default)? */
export function usesDemoCertificate(config: Config, listener: Listener): boolean {
  return presentedProfile(config, listener.certificate)?.demo ?? false;
}

/** Replace a listener's whole HAT (IMPORT, CLEAR, MOVE build the new table first). */
export function setHat(config: Config, name: string, hat: Hat): Config {
  return editListenerPart(config, name, (l) => {
    l.hat = hat;
  });
}
