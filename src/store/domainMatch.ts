/**
 * Entries that name a domain (or host) exactly, or ".domain" for every name below it: destination
 * controls, SMTP routes, recipient access and sender group host names all match this way.
 */

/** A name as compared: lower case, a trailing dot ignored. */
export const canonicalName = (name: string) => name.toLowerCase().replace(/\.$/, '');

/** Does `entry` cover `name`? ".example.com" covers a.example.com but not example.com itself. */
export function entryCovers(entry: string, name: string): boolean {
  const e = entry.toLowerCase();
  const n = canonicalName(name);
  return e.startsWith('.') ? n.endsWith(e) : n === e;
}

/**
 * ".example.com" covers the names that end with it: `lookup`'s first answer for the name's dotted
 * endings, longest first ("a.b.c": ".b.c", then ".c"; a name that starts with a dot is one itself).
 */
function longestEnding<T>(name: string, lookup: (ending: string) => T | undefined): T | undefined {
  for (let dot = name.indexOf('.'); dot >= 0; dot = name.indexOf('.', dot + 1)) {
    const found = lookup(name.slice(dot));
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Entries compiled for `entryCovers` lookups that take the same time however many there are. */
export interface DomainEntrySet {
  /** Does any entry cover `name`? */
  covers(name: string): boolean;
  readonly size: number;
}

export function domainEntrySet(entries: readonly string[]): DomainEntrySet {
  const exact = new Set<string>();
  const below = new Set<string>();
  for (const entry of entries) (entry.startsWith('.') ? below : exact).add(entry.toLowerCase());
  return {
    size: exact.size + below.size,
    covers(name) {
      const n = canonicalName(name);
      return exact.has(n) || (below.size > 0 && (longestEnding(n, (ending) => below.has(ending) || undefined) ?? false));
    },
  };
}

interface DomainIndex {
  /** The entries and their domains as indexed. */
  entries: readonly { domain: string }[];
  domains: string[];
  /** The first entry of each lower-case domain. */
  byDomain: Map<string, { domain: string }>;
}

/**
 * Each list's index, made on first use: a delivery looks its destination and route up in a few map
 * lookups, not by scanning every entry. A committed configuration is never changed in place, but a
 * draft is during an edit (store/edit.ts), so each use checks that the list still holds the same
 * entries with the same domains (comparisons of references, not of text).
 */
const indexes = new WeakMap<readonly { domain: string }[], DomainIndex>();

function indexOf(entries: readonly { domain: string }[]): DomainIndex {
  const index = indexes.get(entries);
  if (index && unchanged(index, entries)) return index;
  const byDomain = new Map<string, { domain: string }>();
  for (const e of entries) if (!byDomain.has(e.domain.toLowerCase())) byDomain.set(e.domain.toLowerCase(), e);
  const made = { entries: [...entries], domains: entries.map((e) => e.domain), byDomain };
  indexes.set(entries, made);
  return made;
}

function unchanged(index: DomainIndex, entries: readonly { domain: string }[]): boolean {
  if (index.entries.length !== entries.length) return false;
  for (let i = 0; i < entries.length; i += 1) if (entries[i] !== index.entries[i] || entries[i]!.domain !== index.domains[i]) return false;
  return true;
}

/** The entry that applies to `name`: an exact one, else the longest ".domain" that covers it. */
export function mostSpecificEntry<T extends { domain: string }>(entries: readonly T[], name: string): T | undefined {
  const n = canonicalName(name);
  const { byDomain } = indexOf(entries);
  return (byDomain.get(n) ?? longestEnding(n, (ending) => byDomain.get(ending))) as T | undefined;
}

/**
 * The entry that applies to a pattern itself (what destconfig shows and edits for an entry): for a
 * name, as mostSpecificEntry; for ".domain", the entry of that pattern, else the longest ".domain"
 * entry that covers every name below it (never an entry for one of those names).
 */
export function entryForPattern<T extends { domain: string }>(entries: readonly T[], pattern: string): T | undefined {
  const p = canonicalName(pattern);
  if (!p.startsWith('.')) return mostSpecificEntry(entries, p);
  return entries.filter((e) => e.domain.startsWith('.') && p.endsWith(e.domain.toLowerCase())).sort((a, b) => b.domain.length - a.domain.length)[0];
}
