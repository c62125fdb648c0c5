/**
 * A readable difference between two configuration documents. Arrays of named objects are matched
 * by name, so a moved or renamed listener reads as such instead of as index noise; a change of
 * their order is a change too (HAT sender groups are checked in order: the first match wins).
 */
export interface Change {
  kind: 'added' | 'removed' | 'changed';
  path: string;
  before?: unknown;
  after?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isNamedList = (v: unknown): v is { name: string }[] =>
  Array.isArray(v) && v.every((e) => isObject(e) && typeof e.name === 'string');

export function diffConfig(before: unknown, after: unknown, path = ''): Change[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((k) => keyed(before[k], after[k], join(path, k), before[k] !== undefined, after[k] !== undefined));
  }
  if (isNamedList(before) && isNamedList(after)) {
    const old = new Map(before.map((e) => [e.name.toLowerCase(), e]));
    const neu = new Map(after.map((e) => [e.name.toLowerCase(), e]));
    const names = [...new Set([...old.keys(), ...neu.keys()])];
    const changes = names.flatMap((n) => keyed(old.get(n), neu.get(n), join(path, (neu.get(n) ?? old.get(n))!.name), old.has(n), neu.has(n)));
    const kept = (list: { name: string }[], other: Map<string, unknown>) => list.map((e) => e.name).filter((n) => other.has(n.toLowerCase()));
    const [wasOrder, isOrder] = [kept(before, neu), kept(after, old)];
    if (wasOrder.join('\n').toLowerCase() !== isOrder.join('\n').toLowerCase()) {
      changes.push({ kind: 'changed', path: join(path, '(order)'), before: wasOrder.join(', '), after: isOrder.join(', ') });
    }
    return changes;
  }
  return [{ kind: 'changed', path, before, after }];
}

function keyed(before: unknown, after: unknown, path: string, had: boolean, has: boolean): Change[] {
  if (!had) return [{ kind: 'added', path, after }];
  if (!has) return [{ kind: 'removed', path, before }];
  return diffConfig(before, after, path);
}

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

export function formatChanges(changes: Change[]): string[] {
  return changes.map((c) => {
    if (c.kind === 'added') return `+ ${c.path}: ${show(c.after)}`;
    if (c.kind === 'removed') return `- ${c.path}: ${show(c.before)}`;
    return `~ ${c.path}: ${show(c.before)} -> ${show(c.after)}`;
  });
}
