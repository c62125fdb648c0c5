/**
 * The difference between two configuration documents. Arrays of named objects (a `name`, or a
 * `domain`, `email` or `zone`) are matched by that name, so a moved or renamed listener
 * reads as such instead of as index noise; a change of their order is a change too (HAT sender
 * groups are checked in order: the first match wins).
 */
export interface Change {
  kind: 'added' | 'removed' | 'changed';
  /** The raw path, keys and entry names joined by dots ("listeners.InboundMail.port"). */
  path: string;
  /** The same path as steps: an object key, or the entry of a named list. */
  steps: Step[];
  before?: unknown;
  after?: unknown;
}

export type Step = string | { entry: string };

const ID_FIELDS = ['name', 'domain', 'email', 'zone'] as const;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The field naming each entry of a list, when every entry has it as a string. */
function idField(list: unknown[]): (typeof ID_FIELDS)[number] | undefined {
  if (list.length === 0) return undefined;
  return ID_FIELDS.find((f) => list.every((e) => isObject(e) && typeof e[f] === 'string'));
}

export function diffConfig(before: unknown, after: unknown, steps: Step[] = []): Change[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((k) => keyed(before[k], after[k], [...steps, k], before[k] !== undefined, after[k] !== undefined));
  }
  const field = Array.isArray(before) && Array.isArray(after) ? idField([...before, ...after]) : undefined;
  if (field && Array.isArray(before) && Array.isArray(after)) {
    const id = (e: unknown) => String((e as Record<string, unknown>)[field]);
    const old = new Map(before.map((e) => [id(e).toLowerCase(), e]));
    const neu = new Map(after.map((e) => [id(e).toLowerCase(), e]));
    const names = [...new Set([...old.keys(), ...neu.keys()])];
    const changes = names.flatMap((n) => keyed(old.get(n), neu.get(n), [...steps, { entry: id(neu.get(n) ?? old.get(n)) }], old.has(n), neu.has(n)));
    const kept = (list: unknown[], other: Map<string, unknown>) => list.map(id).filter((n) => other.has(n.toLowerCase()));
    const [wasOrder, isOrder] = [kept(before, neu), kept(after, old)];
    if (wasOrder.join('\n').toLowerCase() !== isOrder.join('\n').toLowerCase()) {
      changes.push(change('changed', [...steps, '(order)'], wasOrder.join(', '), isOrder.join(', ')));
    }
    return changes;
  }
  return [change('changed', steps, before, after)];
}

function keyed(before: unknown, after: unknown, steps: Step[], had: boolean, has: boolean): Change[] {
  if (!had) return [change('added', steps, undefined, after)];
  if (!has) return [change('removed', steps, before, undefined)];
  return diffConfig(before, after, steps);
}

function change(kind: Change['kind'], steps: Step[], before: unknown, after: unknown): Change {
  const c: Change = { kind, path: steps.map((s) => (typeof s === 'string' ? s : s.entry)).join('.'), steps };
  if (before !== undefined) c.before = before;
  if (after !== undefined) c.after = after;
  return c;
}

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** The raw form (showchanges --raw): one line per changed value. */
export function formatChanges(changes: Change[]): string[] {
  return changes.map((c) => {
    if (c.kind === 'added') return `+ ${c.path}: ${show(c.after)}`;
    if (c.kind === 'removed') return `- ${c.path}: ${show(c.before)}`;
    return `~ ${c.path}: ${show(c.before)} -> ${show(c.after)}`;
  });
}
