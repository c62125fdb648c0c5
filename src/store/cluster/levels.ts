import type { PendingConfirmation } from '../versions.js';
import { UserError } from '../../userError.js';
import { type Config, defaultConfig, sameName, validateConfig } from '../schema.js';

/**
 * The cluster's configuration at AsyncOS's three levels. Every setting of a machine resolves
 * machine → group → cluster; a setting is one top-level part of the configuration (destinations,
 * listeners, alerts …), except certificate profiles, which resolve one by name: the guide installs a
 * wildcard or SAN certificate once at cluster level and each member's own certificate at machine
 * level under the same name, and both must be usable at once.
 */

/** Settings that belong to one machine and are never shared: its network identity and its processes. */
export const MACHINE_ONLY = ['hostname', 'interfaces', 'listenerWorkers'] as const;
/** Settings that exist only once for the whole cluster, as on the appliance: the accounts. */
export const CLUSTER_ONLY = ['users'] as const;
export const DEFAULT_GROUP = 'Main_Group';

type Key = keyof Config;
/** Some settings, as JSON: what one level holds. */
export type Settings = Partial<Record<Key, unknown>>;

export interface ClusterDocument {
  name: string;
  version: number;
  time: string;
  user: string;
  comment: string;
  cluster: Settings;
  groups: Record<string, Settings>;
  machines: Record<string, { group: string; settings: Settings }>;
  /**
   * Set on a version made by "commit confirmed": every member keeps the deadline, and at it one of
   * them (one winner in etcd) goes back to `previous` unless a later version came first.
   */
  confirmation?: PendingConfirmation;
}

/** Any later version confirms: it never carries the deadline on. */
export function withoutConfirmation(doc: ClusterDocument): ClusterDocument {
  const { confirmation: _c, ...rest } = doc;
  return rest;
}

export type Level = { kind: 'cluster' } | { kind: 'group'; name: string } | { kind: 'machine'; name: string };

export const levelText = (level: Level): string => (level.kind === 'cluster' ? 'Cluster' : level.kind === 'group' ? `Group ${level.name}` : `Machine ${level.name}`);

const isMachineOnly = (k: string) => (MACHINE_ONLY as readonly string[]).includes(k);
const isClusterOnly = (k: string) => (CLUSTER_ONLY as readonly string[]).includes(k);

/** The first document of a new cluster: this machine's committed configuration, shared except its own settings. */
export function newCluster(name: string, machine: string, config: Config, meta: { user: string; time: string }): ClusterDocument {
  const cluster: Settings = {};
  const own: Settings = {};
  for (const [k, v] of Object.entries(config)) (isMachineOnly(k) ? own : cluster)[k as Key] = v;
  return { name, version: 1, time: meta.time, user: meta.user, comment: `Cluster ${name} created from ${machine}`, cluster, groups: { [DEFAULT_GROUP]: {} }, machines: { [machine]: { group: DEFAULT_GROUP, settings: own } } };
}

/** A machine joins: its own settings come with it, everything else is the cluster's. */
export function withMember(doc: ClusterDocument, machine: string, config: Config): ClusterDocument {
  if (findMachine(doc, machine)) throw new UserError(`A machine named ${machine} is already in cluster ${doc.name}; give this machine another host name (sethostname) first.`);
  return { ...doc, machines: { ...doc.machines, [machine]: { group: DEFAULT_GROUP, settings: ownSettings(config) } } };
}

/** A machine's own settings (MACHINE_ONLY) out of its whole configuration. */
export function ownSettings(config: Config): Settings {
  const own: Settings = {};
  for (const k of MACHINE_ONLY) own[k] = config[k];
  return own;
}

export function withoutMember(doc: ClusterDocument, machine: string): ClusterDocument {
  const name = findMachine(doc, machine);
  if (!name) throw new UserError(`There is no machine ${machine} in cluster ${doc.name}.`);
  const machines = { ...doc.machines };
  delete machines[name];
  return { ...doc, machines };
}

export const findMachine = (doc: ClusterDocument, name: string): string | undefined => Object.keys(doc.machines).find((m) => sameName(m, name));
export const findGroup = (doc: ClusterDocument, name: string): string | undefined => Object.keys(doc.groups).find((g) => sameName(g, name));

/** The levels a view at `level` inherits from, most specific first, each with its settings. */
function chainOf(doc: ClusterDocument, level: Level): [Level, Settings][] {
  const cluster: [Level, Settings] = [{ kind: 'cluster' }, doc.cluster];
  if (level.kind === 'cluster') return [cluster];
  if (level.kind === 'group') {
    const g = findGroup(doc, level.name) ?? level.name;
    return [[{ kind: 'group', name: g }, doc.groups[g] ?? {}], cluster];
  }
  const name = findMachine(doc, level.name);
  const m = name ? doc.machines[name] : undefined;
  if (!name || !m) throw new UserError(`There is no machine ${level.name} in cluster ${doc.name}.`);
  return [[{ kind: 'machine', name }, m.settings], [{ kind: 'group', name: m.group }, doc.groups[m.group] ?? {}], cluster];
}

const chain = (doc: ClusterDocument, level: Level): Settings[] => chainOf(doc, level).map(([, s]) => s);

/** The levels under `level` that inherit from it: a cluster's groups and machines, a group's machines. */
function inheritors(doc: ClusterDocument, level: Level): [Level, Settings][] {
  if (level.kind === 'machine') return [];
  const groups: [Level, Settings][] = level.kind === 'cluster' ? Object.entries(doc.groups).map(([name, s]) => [{ kind: 'group', name }, s]) : [];
  const machines = Object.entries(doc.machines)
    .filter(([, m]) => level.kind === 'cluster' || sameName(m.group, level.name))
    .map(([name, m]): [Level, Settings] => [{ kind: 'machine', name }, m.settings]);
  return [...groups, ...machines];
}

/** Where one value seen at a level is set, and which levels under it set their own (so a change here does not reach them). */
export interface Origin {
  setting: string;
  from: string;
  overriddenBy: string[];
}

const certificatesOf = (s: Settings) => (s.certificates as Named[] | undefined) ?? [];

/**
 * Where each value a session at `level` sees comes from: one entry per setting, and one per
 * certificate profile (they resolve by name). Machine-only settings are each machine's own.
 */
export function origins(doc: ClusterDocument, level: Level): Origin[] {
  const levels = chainOf(doc, level);
  const lower = inheritors(doc, level);
  const out: Origin[] = [];
  const keys = [...new Set([...(levels.flatMap(([, s]) => Object.keys(s)) as Key[]), ...(level.kind === 'machine' ? [] : MACHINE_ONLY)])].sort();
  for (const k of keys) {
    if (k === 'certificates') continue;
    if (isMachineOnly(k) && level.kind !== 'machine') {
      out.push({ setting: k, from: "each machine's own", overriddenBy: [] });
      continue;
    }
    const from = levels.find(([, s]) => s[k] !== undefined)![0];
    out.push({ setting: k, from: levelText(from), overriddenBy: lower.filter(([, s]) => s[k] !== undefined).map(([l]) => levelText(l)) });
  }
  for (const c of mergedCertificates(levels.map(([, s]) => s)) as Named[]) {
    const from = levels.find(([, s]) => certificatesOf(s).some((x) => sameName(x.name, c.name)))![0];
    const overriddenBy = lower.filter(([, s]) => certificatesOf(s).some((x) => sameName(x.name, c.name))).map(([l]) => levelText(l));
    out.push({ setting: `certificate profile ${c.name}`, from: levelText(from), overriddenBy });
  }
  return out;
}

/**
 * After a change at a cluster or group level: one note per changed value that a level under it
 * sets for itself, so the administrator knows the change does not reach there.
 */
export function overriddenChanges(before: ClusterDocument, after: ClusterDocument, level: Level): string[] {
  const old = new Map(origins(before, level).map((o) => [o.setting, o]));
  const beforeView = resolve(before, level, {});
  const afterView = resolve(after, level, {});
  const changed = (o: Origin) => {
    if (o.setting.startsWith('certificate profile ')) {
      const name = o.setting.slice('certificate profile '.length);
      const find = (v: Settings) => certificatesOf(v).find((c) => sameName(c.name, name));
      return !same(find(beforeView), find(afterView));
    }
    return !same(beforeView[o.setting as Key], afterView[o.setting as Key]) || !old.has(o.setting);
  };
  return origins(after, level)
    .filter((o) => o.overriddenBy.length > 0 && changed(o))
    .map((o) => `${o.setting}: ${o.overriddenBy.join(', ')} ${o.overriddenBy.length === 1 ? 'sets its own; this change does not reach it' : 'set their own; this change does not reach them'}.`);
}

type Named = { name: string };

/** Certificate profiles by name, the most specific level winning; the cluster's order first. */
function mergedCertificates(levels: Settings[]): unknown[] {
  const out: Named[] = [];
  for (const s of [...levels].reverse()) {
    for (const c of (s.certificates as Named[] | undefined) ?? []) {
      const at = out.findIndex((o) => sameName(o.name, c.name));
      if (at >= 0) out[at] = c;
      else out.push(c);
    }
  }
  return out;
}

/**
 * The raw settings seen at a level: for a machine, what it runs; for the cluster or a group, what
 * its members inherit. Machine-only settings come from `own` (the machine whose shell looks).
 */
export function resolve(doc: ClusterDocument, level: Level, own: Settings): Settings {
  const levels = chain(doc, level);
  const out: Settings = {};
  const keys = new Set(levels.flatMap((s) => Object.keys(s)) as Key[]);
  for (const k of keys) {
    if (k === 'certificates') continue;
    const from = levels.find((s) => s[k] !== undefined);
    if (from) out[k] = from[k];
  }
  out.certificates = mergedCertificates(levels);
  if (level.kind !== 'machine') for (const k of MACHINE_ONLY) if (own[k] !== undefined) out[k] = own[k];
  return out;
}

/** What a machine runs, validated: the version a member applies. */
export function effectiveConfig(doc: ClusterDocument, machine: string): Config {
  return validateConfig(resolve(doc, { kind: 'machine', name: machine }, {}));
}

export const machineSettings = (doc: ClusterDocument, machine: string): Settings => doc.machines[findMachine(doc, machine) ?? machine]?.settings ?? {};

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Put a session's edits where its level says: every setting that differs between the view the
 * session started from and its draft is set at that level (a certificate profile alone, by name).
 * Machine-only settings cannot be set for the cluster or a group, and the accounts only for the
 * cluster; the message says which level to switch to. Returns the level's new settings.
 */
export function placeEdits(doc: ClusterDocument, level: Level, view: Settings, draft: Config): ClusterDocument {
  const target = { ...levelSettings(doc, level) };
  for (const k of Object.keys(draft) as Key[]) {
    if (same(view[k], draft[k])) continue;
    if (isMachineOnly(k) && level.kind !== 'machine') {
      throw new UserError(`${settingText(k)} is a machine-level setting: switch with "clustermode machine NAME" and make the change there.`);
    }
    if (isClusterOnly(k) && level.kind !== 'cluster') {
      throw new UserError(`${settingText(k)} exist only at cluster level: switch with "clustermode cluster" and make the change there.`);
    }
    if (k === 'certificates') target.certificates = placeCertificates(doc, level, view.certificates as Named[], draft.certificates);
    else target[k] = draft[k];
  }
  return withLevelSettings(doc, level, target);
}

function placeCertificates(doc: ClusterDocument, level: Level, view: Named[] = [], draft: Named[]): Named[] {
  const here = (levelSettings(doc, level).certificates as Named[] | undefined) ?? [];
  for (const gone of view.filter((v) => !draft.some((d) => sameName(d.name, v.name)))) {
    if (!here.some((h) => sameName(h.name, gone.name))) {
      throw new UserError(`Certificate profile ${gone.name} is not set at ${levelText(level).toLowerCase()} level (it comes from a wider level): switch with "clustermode" to where it is set to delete it.`);
    }
  }
  return draft.filter((d) => here.some((h) => sameName(h.name, d.name)) || !same(d, view.find((v) => sameName(v.name, d.name))));
}

function levelSettings(doc: ClusterDocument, level: Level): Settings {
  if (level.kind === 'cluster') return doc.cluster;
  if (level.kind === 'group') {
    const g = findGroup(doc, level.name);
    if (!g) throw new UserError(`There is no group ${level.name} in cluster ${doc.name}.`);
    return doc.groups[g]!;
  }
  const m = findMachine(doc, level.name);
  if (!m) throw new UserError(`There is no machine ${level.name} in cluster ${doc.name}.`);
  return doc.machines[m]!.settings;
}

function withLevelSettings(doc: ClusterDocument, level: Level, settings: Settings): ClusterDocument {
  if (level.kind === 'cluster') return { ...doc, cluster: settings };
  if (level.kind === 'group') return { ...doc, groups: { ...doc.groups, [findGroup(doc, level.name)!]: settings } };
  const m = findMachine(doc, level.name)!;
  return { ...doc, machines: { ...doc.machines, [m]: { ...doc.machines[m]!, settings } } };
}

const SETTING_TEXT: Partial<Record<Key, string>> = { hostname: 'The host name', interfaces: 'Interfaces', listenerWorkers: 'Listener workers', users: 'Accounts' };
const settingText = (k: Key) => SETTING_TEXT[k] ?? `The ${k} setting`;

/** A machine's configuration in a version, or why it cannot run it (one line). */
export function machineConfig(doc: ClusterDocument, machine: string): { config: Config } | { problem: string } {
  try {
    return { config: effectiveConfig(doc, machine) };
  } catch (err) {
    return { problem: (err as Error).message.replace(/^The configuration is not valid:\n\s*/, '').replace(/\n\s*/g, '; ') };
  }
}

/** Every machine's configuration must validate before a version is committed: one line per problem, naming the machine. */
export function problemsOfVersion(doc: ClusterDocument): string[] {
  return Object.keys(doc.machines).flatMap((m) => {
    const resolved = machineConfig(doc, m);
    return 'problem' in resolved ? [`${m}: ${resolved.problem}`] : [];
  });
}

/** Every level of a cluster in clusterset's words: the cluster, each group (empty ones too), each machine. */
export const levelsOf = (doc: ClusterDocument): string[] => ['cluster', ...Object.keys(doc.groups).map((g) => `group:${g}`), ...Object.keys(doc.machines).map((m) => `machine:${m}`)];

/** A level in clusterset's words (the inverse of parseLevel). */
export const levelWords = (level: Level | undefined): string => (!level || level.kind === 'cluster' ? 'cluster' : `${level.kind}:${level.name}`);

/** "cluster", "group:NAME" or "machine:NAME" (clusterset's words for a level). */
export function parseLevel(text: string): Level {
  if (text.toLowerCase() === 'cluster') return { kind: 'cluster' };
  const m = /^(group|machine):(.+)$/i.exec(text);
  if (!m) throw new UserError(`"${text}" is not a level: use cluster, group:NAME or machine:NAME.`);
  return { kind: m[1]!.toLowerCase() as 'group' | 'machine', name: m[2]! };
}

const CONFIG_KEYS = (doc: ClusterDocument) => new Set(Object.keys(defaultConfig()).concat(Object.keys(doc.cluster)));

/**
 * clusterset: copy or move one setting (a top-level part of the configuration, or "certificate:NAME"
 * for one profile) from one level to another, or delete it at a level so that level inherits again.
 */
export function setAtLevel(doc: ClusterDocument, action: 'copy' | 'move' | 'delete', setting: string, from: Level, to?: Level): ClusterDocument {
  const cert = /^certificate:(.+)$/i.exec(setting)?.[1];
  const key = (cert ? 'certificates' : setting) as Key;
  if (!cert && !CONFIG_KEYS(doc).has(key)) throw new UserError(`"${setting}" is not a setting: use one of ${[...CONFIG_KEYS(doc)].sort().join(', ')}, or certificate:NAME.`);
  const check = (level: Level) => {
    if (isMachineOnly(key) && level.kind !== 'machine') throw new UserError(`${settingText(key)} exists only at machine level.`);
    if (isClusterOnly(key) && level.kind !== 'cluster') throw new UserError(`${settingText(key)} exist only at cluster level.`);
  };
  const source = { ...levelSettings(doc, from) };
  const where = levelText(from).toLowerCase();
  const value = cert ? ((source.certificates as Named[] | undefined) ?? []).find((c) => sameName(c.name, cert)) : source[key];
  if (value === undefined) throw new UserError(`${cert ? `Certificate profile ${cert}` : settingText(key)} is not set at ${where} level.`);
  if (action === 'delete' || action === 'move') {
    if (isMachineOnly(key)) throw new UserError(`${settingText(key)} is each machine's own: change it with "clustermode machine NAME" instead.`);
    if (from.kind === 'cluster' && !cert && action === 'delete') throw new UserError(`${settingText(key)} at cluster level is what every machine inherits: it can be changed, not deleted.`);
    if (cert) source.certificates = ((source.certificates as Named[] | undefined) ?? []).filter((c) => !sameName(c.name, cert));
    else delete source[key];
  }
  let next = action === 'copy' ? doc : withLevelSettings(doc, from, source);
  if (action !== 'delete') {
    if (!to) throw new UserError('Say where the setting goes: --to cluster, group:NAME or machine:NAME.');
    check(to);
    if (same(from, to)) throw new UserError('The setting is already at that level.');
    const target = { ...levelSettings(next, to) };
    if (cert) target.certificates = [...((target.certificates as Named[] | undefined) ?? []).filter((c) => !sameName(c.name, cert)), value as Named];
    else target[key] = value;
    next = withLevelSettings(next, to, target);
  }
  return next;
}

/** Groups: added empty, machines moved between them, removed when no machine is in them. */
export function withGroup(doc: ClusterDocument, name: string): ClusterDocument {
  if (!/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/.test(name)) throw new UserError(`"${name}" is not a group name: start with a letter; letters, digits, "_", "-" and "." only.`);
  if (findGroup(doc, name)) throw new UserError(`There is already a group ${findGroup(doc, name)} in cluster ${doc.name}.`);
  return { ...doc, groups: { ...doc.groups, [name]: {} } };
}

export function withMachineInGroup(doc: ClusterDocument, machine: string, group: string): ClusterDocument {
  const m = findMachine(doc, machine);
  if (!m) throw new UserError(`There is no machine ${machine} in cluster ${doc.name}.`);
  const g = findGroup(doc, group);
  if (!g) throw new UserError(`There is no group ${group} in cluster ${doc.name}: "clusterconfig addgroup ${group}" first.`);
  return { ...doc, machines: { ...doc.machines, [m]: { ...doc.machines[m]!, group: g } } };
}

export function withoutGroup(doc: ClusterDocument, name: string): ClusterDocument {
  const g = findGroup(doc, name);
  if (!g) throw new UserError(`There is no group ${name} in cluster ${doc.name}.`);
  const inIt = Object.entries(doc.machines).filter(([, m]) => m.group === g).map(([n]) => n);
  if (inIt.length) throw new UserError(`Group ${g} still holds ${inIt.join(', ')}: move ${inIt.length === 1 ? 'it' : 'them'} first ("clusterconfig setgroup MACHINE GROUP").`);
  const groups = { ...doc.groups };
  delete groups[g];
  return { ...doc, groups };
}

/** The level a machine's certificate profile `name` comes from: the most specific one that sets it. */
export function certificateLevel(doc: ClusterDocument, machine: string, name: string): Level | undefined {
  return chainOf(doc, { kind: 'machine', name: machine }).find(([, s]) => certificatesOf(s).some((c) => sameName(c.name, name)))?.[0];
}

/** The machines that run certificate profile `name` as set at `level` (none of them sets its own below it). */
export function machinesUsingCertificateAt(doc: ClusterDocument, level: Level, name: string): string[] {
  return Object.keys(doc.machines).filter((m) => same(certificateLevel(doc, m, name), level));
}

/** Change certificate profile `name` where `level` sets it (an engine-made change, such as a renewal). */
export function withCertificateAt<P extends Named>(doc: ClusterDocument, level: Level, name: string, change: (profile: P) => P): ClusterDocument {
  const settings = levelSettings(doc, level);
  const certificates = certificatesOf(settings) as P[];
  if (!certificates.some((c) => sameName(c.name, name))) throw new UserError(`Certificate profile ${name} is not set at ${levelText(level).toLowerCase()} level.`);
  return withLevelSettings(doc, level, { ...settings, certificates: certificates.map((c) => (sameName(c.name, name) ? change(c) : c)) });
}
