import { notFound } from './edit.js';
import { ConfigError, sameName } from './schema.js';

/**
 * Lists of named things in the configuration (interfaces, listeners): names compare without
 * regard to case, a name is unique in its list, and a missing one is reported with the names
 * that exist.
 */
export function byName<T extends { name: string }>(items: readonly T[], name: string): T | undefined {
  return items.find((i) => sameName(i.name, name));
}

/** The index of `name` in `items`; "No listener named …" with the known names when absent. */
export function indexByName(items: readonly { name: string }[], name: string, kind: string): number {
  const index = items.findIndex((i) => sameName(i.name, name));
  if (index < 0) throw notFound(kind, name, items.map((i) => i.name));
  return index;
}

/** Refuse `name` when another entry has it (`what`: "An interface", "A listener"); `except` is the entry being renamed. */
export function assertFreeName(items: readonly { name: string }[], name: string, what: string, except?: string): void {
  if (except !== undefined && sameName(name, except)) return;
  if (byName(items, name)) throw new ConfigError(`${what} named "${name}" already exists.`);
}
