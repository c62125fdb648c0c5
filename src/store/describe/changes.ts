import { type Change, diffConfig, formatChanges, type Step } from '../diff.js';
import { type Config, ENTRY_NAMES, SECRET_FIELD_NAMES } from '../schema.js';
import { MASK, maskSecrets } from '../secrets.js';
import { certificateText, destinationText, httpsText, interfaceText, listenerText, presentedText, profileText, sshKeyText, userText } from './objects.js';
import { label, lastKey, listChange, pathLabel, valueText } from './words.js';

/**
 * showchanges, and the GUI's pending banner: the draft against the committed version as lines an
 * administrator reads ("destination partner.example added: TLS Required (Verify)", "listener
 * InboundMail: certificate Demo → mx1"), grouped by the command that makes them.
 */

export interface Section {
  /** The command that makes these changes. */
  command: string;
  lines: string[];
}

/** Which command owns each part of the document; a new part of the schema must be placed here. */
const COMMAND_OF: Record<keyof Config, string> = {
  certificates: 'certconfig',
  certificateAuthorities: 'certconfig',
  acme: 'certconfig',
  hostname: 'sethostname',
  interfaces: 'interfaceconfig',
  listeners: 'listenerconfig',
  listenerWorkers: 'listenerconfig',
  tls: 'sslconfig',
  users: 'userconfig',
  ssh: 'sshconfig',
  delivery: 'destconfig',
  bounceProfiles: 'bounceconfig',
  bounceVerification: 'bvconfig',
  smtpRoutes: 'smtproutes',
  dns: 'dnsconfig',
  alerts: 'alertconfig',
  tlsrpt: 'tlsrptconfig',
  logs: 'logconfig',
  metrics: 'metricsconfig',
  queue: 'queueconfig',
};

/**
 * The order a commit puts the parts in service: certificates are loaded and the listeners bound
 * with them first, then the HTTPS interface and the SSH service (with their accounts); the rest is
 * read by each new delivery, session or report.
 */
export const COMMAND_ORDER = ['certconfig', 'sethostname', 'interfaceconfig', 'listenerconfig', 'sslconfig', 'userconfig', 'sshconfig', 'bounceconfig', 'bvconfig', 'destconfig', 'smtproutes', 'dnsconfig', 'alertconfig', 'tlsrptconfig', 'logconfig', 'metricsconfig', 'queueconfig'];

export const commandOf = (key: string): string => COMMAND_OF[key as keyof Config] ?? 'other';

/** Group lines by command, in COMMAND_ORDER. */
export function sections(lines: { key: string; line: string }[]): Section[] {
  const by = new Map<string, string[]>();
  for (const { key, line } of lines) {
    const list = by.get(commandOf(key)) ?? [];
    if (!list.includes(line)) list.push(line);
    by.set(commandOf(key), list);
  }
  const rank = (c: string) => (COMMAND_ORDER.includes(c) ? COMMAND_ORDER.indexOf(c) : COMMAND_ORDER.length);
  return [...by].sort(([a], [b]) => rank(a) - rank(b)).map(([command, l]) => ({ command, lines: l }));
}

export function describeChanges(before: Config, after: Config): Section[] {
  return sections(diffConfig(before, after).map((c) => ({ key: String(c.steps[0]), line: safeLine(c, before, after) })));
}

/** A change this module cannot put in words still shows, in the raw form (never a page that fails). */
function safeLine(c: Change, before: Config, after: Config): string {
  try {
    return changeLine(c, before, after);
  } catch {
    const hide = (v: unknown) => (v === undefined ? undefined : SECRET_FIELD_NAMES.has(lastKey(c.steps)) ? MASK : maskSecrets(v));
    return formatChanges([{ ...c, before: hide(c.before), after: hide(c.after) }])[0]!;
  }
}

/** How many changes, counted as the lines an administrator reads. */
export const changeCount = (s: Section[]): number => s.reduce((n, x) => n + x.lines.length, 0);

const arrow = (key: string, before: unknown, after: unknown) => `${valueText(key, before)} → ${valueText(key, after)}`;

/** A change said by its path and values: "limits max concurrency 50 → 100", "sender group X added: …". */
function generic(steps: readonly Step[], c: Change): string {
  const what = pathLabel(steps);
  const key = lastKey(steps);
  const entry = typeof steps[steps.length - 1] === 'object';
  const scalar = (v: unknown) => v === null || typeof v !== 'object';
  if (c.kind === 'added') return !entry && scalar(c.after) ? `${what} ${arrow(key, undefined, c.after)}` : `${what} added: ${valueText(key, c.after)}`;
  if (c.kind === 'removed') return entry ? `${what} deleted` : `${what} ${arrow(key, c.before, undefined)}`;
  if (Array.isArray(c.before) && Array.isArray(c.after)) return `${what}: ${listChange(key, c.before, c.after)}`;
  return `${what} ${arrow(key, c.before, c.after)}`;
}

const entryOf = (c: Change, list: string) => ({ id: (c.steps[1] as { entry: string }).entry, rest: c.steps.slice(2), word: ENTRY_NAMES[list] ?? list });

function changeLine(c: Change, before: Config, after: Config): string {
  const [top, second] = c.steps;
  const named = typeof second === 'object';
  switch (top) {
    case 'certificates':
      if (named) return certificateLine(c, before, after);
      break;
    case 'certificateAuthorities':
      return caLine(c, after);
    case 'acme':
      if (second === 'account') return `ACME account: ${c.after === undefined || c.after === null ? 'none' : accountText(c.after)}`;
      break;
    case 'interfaces':
      if (named) return interfaceLine(c, before, after);
      break;
    case 'listeners':
      if (named) return listenerLine(c, before, after);
      break;
    case 'users':
      if (named) return userLine(c);
      break;
    case 'delivery':
      return deliveryLine(c, before, after);
    case 'smtpRoutes':
      if (named && c.steps.length === 2 && c.after) return `SMTP route ${entryOf(c, 'smtpRoutes').id} added: ${hostsText(c.after)}`;
      if (lastKey(c.steps) === 'hosts') return `SMTP route ${entryOf(c, 'smtpRoutes').id}: hosts ${hostsText(c.before)} → ${hostsText(c.after)}`;
      break;
  }
  if (named) {
    const { id, rest, word } = entryOf(c, String(top));
    if (rest.length === 0) return c.kind === 'added' ? `${word} ${id} added: ${valueText('', withoutId(c.after))}` : c.kind === 'removed' ? `${word} ${id} deleted` : generic(c.steps, c);
    return `${word} ${id}: ${generic(rest, c)}`;
  }
  return generic(c.steps, c);
}

const withoutId = (v: unknown) => Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([k]) => !['name', 'domain', 'email', 'zone'].includes(k)));

function accountText(v: unknown): string {
  const a = v as { email: string; directory: string };
  return `${a.email} at ${a.directory}`;
}

function hostsText(v: unknown): string {
  const hosts = (Array.isArray(v) ? v : ((v as { hosts?: unknown[] })?.hosts ?? [])) as { host: string; port: number }[];
  return hosts.map((h) => `${h.host}:${h.port}`).join(', ');
}

function certificateLine(c: Change, before: Config, after: Config): string {
  const { id, rest } = entryOf(c, 'certificates');
  const find = (config: Config) => config.certificates.find((p) => p.name.toLowerCase() === id.toLowerCase());
  if (c.kind === 'added' && rest.length === 0) return `certificate ${id} added: ${profileText(find(after)!)}`;
  if (c.kind === 'removed' && rest.length === 0) return `certificate ${id} deleted`;
  const [was, is] = [find(before)!, find(after)!];
  const field = rest[0];
  if (field === 'certificate' || field === 'keyRef' || field === 'csr') {
    if (was.certificate === is.certificate) return `certificate ${id}: ${field === 'keyRef' ? 'new key' : is.csr ? 'new signing request' : 'signing request removed'}`;
    const key = was.keyRef === is.keyRef ? 'same key' : 'new key';
    return `certificate ${id} replaced: ${certificateText(is.certificate)}, ${key} (was ${certificateText(was.certificate)})`;
  }
  if (field === 'intermediates') return `certificate ${id}: intermediates ${listChange('', was.intermediates.map(certificateText), is.intermediates.map(certificateText))}`;
  return `certificate ${id}: ${generic(rest, c)}`;
}

function caLine(c: Change, after: Config): string {
  const [, list, field] = c.steps;
  const name = list === 'system' ? 'system CA list' : 'custom CA list';
  if (field === 'enabled') return `${name} ${c.after ? 'enabled' : 'disabled'}`;
  if (field === 'bundle') {
    const b = after.certificateAuthorities.system.bundle;
    return `${name}: ${b ? `${b.count} certificates loaded from ${b.source}` : 'the Mozilla roots Node ships'}`;
  }
  if (field === 'certificates') return `${name}: ${listChange('', (c.before as string[]).map(caName), (c.after as string[]).map(caName))}`;
  return generic(c.steps, c);
}

const caName = (pem: string) => certificateText(pem).replace(/, SHA-256 fingerprint ([0-9A-F:]{23}).*$/, ', SHA-256 $1…');

function interfaceLine(c: Change, before: Config, after: Config): string {
  const { id, rest } = entryOf(c, 'interfaces');
  if (c.kind === 'added' && rest.length === 0) return `interface ${id} added: ${interfaceText(after, after.interfaces.find((i) => i.name === id)!)}`;
  if (c.kind === 'removed' && rest.length === 0) return `interface ${id} deleted`;
  const find = (config: Config) => config.interfaces.find((i) => i.name.toLowerCase() === id.toLowerCase())!;
  const [was, is] = [find(before), find(after)];
  const field = rest[0];
  if (field === 'https') {
    const text = (config: Config, h: typeof was.https) => (h ? httpsText(config, h) : 'off');
    return `interface ${id}: HTTPS ${text(before, was.https)} → ${text(after, is.https)}`;
  }
  if (field === 'ssh') return `interface ${id}: SSH ${was.ssh ? `on port ${was.ssh.port}` : 'off'} → ${is.ssh ? `on port ${is.ssh.port}` : 'off'}`;
  if (field === 'acmeHttp') return `interface ${id}: ACME HTTP-01 ${was.acmeHttp === undefined ? 'off' : `on port ${was.acmeHttp}`} → ${is.acmeHttp === undefined ? 'off' : `on port ${is.acmeHttp}`}`;
  return `interface ${id}: ${generic(rest, c)}`;
}

function listenerLine(c: Change, before: Config, after: Config): string {
  const { id, rest } = entryOf(c, 'listeners');
  if (c.kind === 'added' && rest.length === 0) return `listener ${id} added: ${listenerText(after, after.listeners.find((l) => l.name === id)!)}`;
  if (c.kind === 'removed' && rest.length === 0) return `listener ${id} deleted`;
  const path = rest.map((s) => (typeof s === 'string' ? s : s.entry)).join('.');
  if (path === 'certificate') return `listener ${id}: certificate ${presentedText(before, c.before as string | null)} → ${presentedText(after, c.after as string | null)}`;
  if (path === 'hat.defaults.tls') return `listener ${id}: TLS ${arrow('tls', c.before, c.after)}`;
  if (path === 'hat.defaults.requireTls') return `listener ${id}: REQUIRETLS ${c.after ? 'offered after STARTTLS' : 'not offered'}`;
  if (path === 'rcptAccess') return `listener ${id}: accepts mail for: ${listChange('', c.before as string[], c.after as string[])}`;
  return `listener ${id}: ${generic(rest, c)}`;
}

function userLine(c: Change): string {
  const { id, rest } = entryOf(c, 'users');
  if (c.kind === 'added' && rest.length === 0) return `account ${id} added: ${userText(c.after as Parameters<typeof userText>[0])}`;
  if (c.kind === 'removed' && rest.length === 0) return `account ${id} deleted`;
  if (rest[0] === 'passwordHash') return `account ${id}: password changed`;
  if (rest[0] === 'sshKeys') return `account ${id}: SSH keys ${listChange('', ((c.before ?? []) as string[]).map(sshKeyText), ((c.after ?? []) as string[]).map(sshKeyText))}`;
  return `account ${id}: ${generic(rest, c)}`;
}

function deliveryLine(c: Change, before: Config, after: Config): string {
  const [, part, entry] = c.steps;
  if (part === 'certificate') return `certificate for outbound TLS: ${presentedText(before, c.before as string | null)} → ${presentedText(after, c.after as string | null)}`;
  if (part === 'defaults') return `default destination: ${generic(c.steps.slice(2), c)}`;
  if (part === 'destinations' && typeof entry === 'object') {
    const rest = c.steps.slice(3);
    if (rest.length === 0) return c.kind === 'added' ? `destination ${entry.entry} added: ${destinationText(c.after as object)}` : `destination ${entry.entry} deleted (the default entry applies)`;
    return `destination ${entry.entry}: ${generic(rest, c)}`;
  }
  if (part === 'destinations') return `destinations: ${generic(c.steps.slice(2), c)}`;
  return `${label(String(part))} ${arrow(String(part), c.before, c.after)}`;
}

/** Sections as text: the command, then its lines indented. */
export const sectionLines = (list: Section[]): string[] => list.flatMap((s) => [`${s.command}:`, ...s.lines.map((l) => `  ${l}`)]);
