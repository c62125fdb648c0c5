import { DEFAULT_BOUNCE_PROFILE } from './profiles.js';
import { NAME_RE } from '../objectName.js';

/**
 * Earlier releases kept retry and expiry settings inline in each destination control entry
 * ("bounce": {retryInitialSeconds, retryMaxSeconds, maxQueueSeconds}). A document written so is
 * read as bounce profiles: the default entry's settings become the profile "Default" and each
 * entry's own settings a profile named after its domain (entries with the same settings share
 * one), which the entry then names. Old versions therefore still load and roll back.
 */

type Json = Record<string, unknown>;
type Inline = { retryInitialSeconds?: unknown; retryMaxSeconds?: unknown; maxQueueSeconds?: unknown };

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

export function withBounceProfiles(doc: unknown): unknown {
  if (!isObject(doc) || !isObject(doc.delivery)) return doc;
  const delivery = doc.delivery;
  const defaults = isObject(delivery.defaults) ? delivery.defaults : undefined;
  const entries = Array.isArray(delivery.destinations) ? (delivery.destinations as unknown[]) : [];
  const inline = (e: unknown): Inline | undefined => (isObject(e) && isObject(e.bounce) ? (e.bounce as Inline) : undefined);
  if (!inline(defaults) && !entries.some(inline)) return doc;

  const profiles: Json[] = Array.isArray(doc.bounceProfiles) ? (doc.bounceProfiles as unknown[]).filter(isObject) : [];
  const settingsOf = (b: Inline) => ({ retryInitialSeconds: b.retryInitialSeconds, retryMaxSeconds: b.retryMaxSeconds, maxQueueSeconds: b.maxQueueSeconds });
  const same = (p: Json, b: Inline) => p.retryInitialSeconds === b.retryInitialSeconds && p.retryMaxSeconds === b.retryMaxSeconds && p.maxQueueSeconds === b.maxQueueSeconds;
  const taken = (name: string) => profiles.some((p) => typeof p.name === 'string' && p.name.toLowerCase() === name.toLowerCase());

  const defaultInline = inline(defaults);
  if (defaultInline && !taken(DEFAULT_BOUNCE_PROFILE)) profiles.unshift({ name: DEFAULT_BOUNCE_PROFILE, ...settingsOf(defaultInline) });
  const nameFor = (domain: string): string => {
    const base = `Bounce_${domain.replace(/^\./, '')}`.slice(0, 60);
    const stem = NAME_RE.test(base) ? base : 'Bounce';
    let name = stem;
    for (let n = 2; taken(name); n++) name = `${stem}_${n}`;
    return name;
  };
  const destinations = entries.map((e) => {
    const b = inline(e);
    if (!b || !isObject(e)) return e;
    const { bounce: _b, ...rest } = e;
    const found = profiles.find((p) => same(p, b));
    if (found) return { ...rest, bounceProfile: found.name };
    const name = nameFor(typeof e.domain === 'string' ? e.domain : '');
    profiles.push({ name, ...settingsOf(b) });
    return { ...rest, bounceProfile: name };
  });
  const newDefaults = defaults ? (({ bounce: _b, ...rest }) => rest)(defaults) : defaults;
  return { ...doc, bounceProfiles: profiles, delivery: { ...delivery, ...(newDefaults ? { defaults: newDefaults } : {}), destinations } };
}
