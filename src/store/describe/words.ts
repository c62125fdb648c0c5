import type { Step } from '../diff.js';
import { DANE_LABELS, IP_SORT_LABELS, LIMIT_SCOPE_LABELS, TLS_LABELS } from '../destinations/destinations.js';
import { ENTRY_NAMES, SECRET_FIELD_NAMES, words } from '../schema.js';
import { MASK } from '../secrets.js';

/**
 * How settings read in showchanges, showconfig and the GUI: a label per key where the key's own
 * words would not do, and a value the way the dialogs say it (TLS "Required (Verify)", on/off).
 */

const LABELS: Record<string, string> = {
  tls: 'TLS',
  dns: 'DNS',
  acme: 'ACME',
  tlsrpt: 'TLS reports',
  dane: 'DANE',
  mtaSts: 'MTA-STS',
  ipSort: 'IP sort preference',
  rcptAccess: 'accepts mail for',
  hat: 'host access',
  senderGroups: 'sender groups',
  maxConcurrency: 'max concurrency',
  tcpQueue: 'TCP queue',
  ip: 'IP address',
  https: 'HTTPS',
  ssh: 'SSH',
  acmeHttp: 'ACME HTTP-01 port',
  httpRedirect: 'HTTP redirect port',
  sshKeys: 'SSH keys',
  passwordHash: 'password',
  passwordAuth: 'password logins',
  outboundMinVersion: 'outbound minimum TLS version',
  peerCertFqdn: 'peer certificate FQDN check',
  peerCertX509: 'peer certificate X.509 check',
  alertOnRequiredTlsFailure: 'alert when required TLS fails',
  alertOnDaneFailure: 'alert when DANE fails',
  servers: 'resolvers',
  trustAnchors: 'DNSSEC trust anchors',
  logs: 'mail logs',
  mailLevel: 'level',
  rotateBytes: 'roll over past (bytes)',
  rotateHours: 'roll over after (hours)',
  reserveMb: 'free space reserve (MB)',
  listenerWorkers: 'listener workers',
  keyRef: 'key',
  retryMinutes: 'retry after (minutes)',
  alertAfter: 'alert after failed renewals',
  certificateWarnDays: 'expiry warning (days)',
  initialSeconds: 'first repeat after (seconds)',
  maxSeconds: 'repeats at most every (seconds)',
  retryInitialSeconds: 'first retry after (seconds)',
  retryMaxSeconds: 'retries at most every (seconds)',
  maxQueueSeconds: 'bounce after (seconds)',
  maxRetries: 'max retries',
  hardBounces: 'hard bounce messages',
  delayWarnings: 'delay warnings',
  intervalSeconds: 'every (seconds)',
  maxWarnings: 'at most (warnings)',
  alternateAddress: 'bounces to',
  bounceProfile: 'bounce profile',
  limitType: 'limits apply',
  limitScope: 'limits enforced',
  bounceProfiles: 'bounce profiles',
};

const TLS_WORDS: Record<string, string> = { off: 'No', ...TLS_LABELS };
const ENUMS: Record<string, Record<string, string>> = { tls: TLS_WORDS, dane: DANE_LABELS, mtaSts: { no: 'No', yes: 'Yes' }, ipSort: IP_SORT_LABELS, limitType: { domain: 'per domain', 'mx-ip': 'per MX IP' }, limitScope: LIMIT_SCOPE_LABELS };

export const label = (key: string): string => LABELS[key] ?? words(key);

/** A path below the object a line is about ("limits max concurrency", "sender group BLOCKLIST patterns"). */
export function pathLabel(steps: readonly Step[]): string {
  return steps
    .map((s, i) => {
      if (typeof s !== 'string') {
        const list = steps[i - 1];
        return `${ENTRY_NAMES[typeof list === 'string' ? list : ''] ?? 'entry'} ${s.entry}`;
      }
      if (s === '(order)') return 'order';
      // A list's key is said by its entry ("sender group X", not "sender groups sender group X").
      return typeof steps[i + 1] === 'object' ? '' : label(s);
    })
    .filter(Boolean)
    .join(' ');
}

/** A value as the shell's dialogs say it. `key` is the setting it belongs to; a secret is never shown. */
export function valueText(key: string, v: unknown): string {
  if (SECRET_FIELD_NAMES.has(key)) return '(secret)';
  if (v === undefined) return 'Default';
  if (v === null) return 'none';
  if (v === MASK) return '(set)';
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  if (v === '') return 'default';
  if (typeof v === 'string') return ENUMS[key]?.[v] ?? v;
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return v.length ? v.map((e) => valueText(key, e)).join(', ') : 'none';
  return Object.entries(v as Record<string, unknown>)
    .map(([k, e]) => `${label(k)} ${valueText(k, e)}`)
    .join(', ');
}

/** The last key of a path: what its values are ("tls" for ["delivery", "defaults", "tls"]). */
export const lastKey = (steps: readonly Step[]): string => [...steps].reverse().find((s): s is string => typeof s === 'string') ?? '';

/** Two lists of words: what one added and removed ("added a, b; removed c"), or the order change. */
export function listChange(key: string, before: unknown[], after: unknown[]): string {
  const text = (e: unknown) => valueText(key, e);
  const [was, is] = [before.map(text), after.map(text)];
  const added = is.filter((e) => !was.includes(e));
  const removed = was.filter((e) => !is.includes(e));
  const parts = [added.length ? `added ${added.join(', ')}` : '', removed.length ? `removed ${removed.join(', ')}` : ''].filter(Boolean);
  return parts.length ? parts.join('; ') : `order ${was.join(', ')} → ${is.join(', ')}`;
}
