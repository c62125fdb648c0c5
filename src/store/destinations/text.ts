import type { z } from 'zod';
import { DANE_MODES, type DaneMode, DEST_TLS, type IpSort, MTA_STS_MODES, type MtaStsMode, type Destination, type DestinationDefaults, DestinationDefaultsSchema, DestinationSchema, type DestinationTls } from './destinations.js';
import { describeIssues } from '../schema.js';
import { UserError } from '../../userError.js';

/**
 * destconfig EXPORT / IMPORT file: INI style, a [DEFAULT] section and one section per domain, as
 * the appliance's destination control files. A domain section lists only what it sets itself.
 */
/** ip_sort_pref as the appliance writes it. */
const IP_SORT_PREF: Record<IpSort, string> = { 'prefer-ipv4': 'PREFER_V4', 'prefer-ipv6': 'PREFER_V6', 'require-ipv4': 'REQUIRE_V4', 'require-ipv6': 'REQUIRE_V6' };

const KEYS = ['tls', 'dane', 'mta_sts', 'ip_sort_pref', 'max_host_concurrency', 'max_messages_per_connection', 'recipient_limit', 'recipient_minutes', 'limit_type', 'limit_apply', 'bounce_profile', 'bounce_validation'];
/** Keys of earlier releases' files: the settings are a bounce profile's now. */
const INLINE_BOUNCE_KEYS = ['bounce_retry_initial', 'bounce_retry_max', 'bounce_max_queue_time'];

export function formatDestinations(defaults: DestinationDefaults, entries: Destination[]): string {
  const section = (name: string, e: Partial<DestinationDefaults>) => {
    const lines = [`[${name}]`];
    if (e.tls !== undefined) lines.push(`tls = ${e.tls}`);
    if (e.dane !== undefined) lines.push(`dane = ${e.dane}`);
    if (e.mtaSts !== undefined) lines.push(`mta_sts = ${e.mtaSts}`);
    if (e.ipSort !== undefined) lines.push(`ip_sort_pref = ${IP_SORT_PREF[e.ipSort]}`);
    if (e.maxConcurrency !== undefined) lines.push(`max_host_concurrency = ${e.maxConcurrency}`);
    if (e.messagesPerConnection !== undefined) lines.push(`max_messages_per_connection = ${e.messagesPerConnection}`);
    if (e.recipientLimit !== undefined) lines.push(e.recipientLimit ? `recipient_limit = ${e.recipientLimit.recipients}\nrecipient_minutes = ${e.recipientLimit.minutes}` : 'recipient_limit = none');
    if (e.limitType !== undefined) lines.push(`limit_type = ${e.limitType === 'mx-ip' ? 'MXIP' : 'host'}`);
    if (e.limitScope !== undefined) lines.push(`limit_apply = ${e.limitScope === 'virtual-gateway' ? 'VG' : 'system'}`);
    if (e.bounceProfile !== undefined) lines.push(`bounce_profile = ${e.bounceProfile}`);
    if (e.bounceVerification !== undefined) lines.push(`bounce_validation = ${e.bounceVerification ? 1 : 0}`);
    return lines.join('\n');
  };
  return [section('DEFAULT', defaults), ...entries.map((e) => section(e.domain, e))].join('\n\n') + '\n';
}

export class DestinationParseError extends UserError {
  override name = 'DestinationParseError';
}

export function parseDestinations(text: string): { defaults: DestinationDefaults; entries: Destination[] } {
  const sections = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  text.split(/\r?\n/).forEach((raw, n) => {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) return;
    const head = /^\[([^\]]+)\]$/.exec(line);
    if (head) {
      if (sections.has(head[1]!)) throw new DestinationParseError(`Line ${n + 1}: section [${head[1]}] appears twice.`);
      current = {};
      sections.set(head[1]!, current);
      return;
    }
    const kv = /^([a-z_]+)\s*=\s*(.+)$/.exec(line);
    if (!kv || !current) throw new DestinationParseError(`Line ${n + 1}: expected "[section]" or "key = value": "${line}"`);
    current[kv[1]!] = kv[2]!.trim();
  });
  if (!sections.has('DEFAULT')) throw new DestinationParseError('The file has no [DEFAULT] section.');
  const read = (name: string, kv: Record<string, string>) => {
    const out: Record<string, unknown> = {};
    const int = (k: string) => {
      if (kv[k] === undefined) return undefined;
      if (!/^\d+$/.test(kv[k]!)) throw new DestinationParseError(`[${name}] ${k} must be a whole number, not "${kv[k]}".`);
      return Number(kv[k]);
    };
    for (const k of Object.keys(kv)) {
      if (INLINE_BOUNCE_KEYS.includes(k)) throw new DestinationParseError(`[${name}] ${k}: retry and expiry settings are in bounce profiles now (bounceconfig); name one with "bounce_profile = NAME".`);
      if (!KEYS.includes(k)) {
        throw new DestinationParseError(`[${name}] unknown key "${k}".`);
      }
    }
    if (kv.tls !== undefined) {
      if (!(DEST_TLS as readonly string[]).includes(kv.tls)) throw new DestinationParseError(`[${name}] tls must be one of ${DEST_TLS.join(', ')}, not "${kv.tls}".`);
      out.tls = kv.tls as DestinationTls;
    }
    if (kv.dane !== undefined) {
      if (!(DANE_MODES as readonly string[]).includes(kv.dane)) throw new DestinationParseError(`[${name}] dane must be one of ${DANE_MODES.join(', ')}, not "${kv.dane}".`);
      out.dane = kv.dane as DaneMode;
    }
    if (kv.mta_sts !== undefined) {
      if (!(MTA_STS_MODES as readonly string[]).includes(kv.mta_sts)) throw new DestinationParseError(`[${name}] mta_sts must be one of ${MTA_STS_MODES.join(', ')}, not "${kv.mta_sts}".`);
      out.mtaSts = kv.mta_sts as MtaStsMode;
    }
    if (kv.ip_sort_pref !== undefined) {
      // The appliance's own files write REQUIRE_v6 and PREFER_V6 alike: the case does not matter.
      const found = (Object.entries(IP_SORT_PREF) as [IpSort, string][]).find(([, v]) => v === kv.ip_sort_pref!.toUpperCase());
      if (!found) throw new DestinationParseError(`[${name}] ip_sort_pref must be one of ${Object.values(IP_SORT_PREF).join(', ')}, not "${kv.ip_sort_pref}".`);
      out.ipSort = found[0];
    }
    if (kv.max_host_concurrency !== undefined) out.maxConcurrency = int('max_host_concurrency');
    if (kv.max_messages_per_connection !== undefined) out.messagesPerConnection = int('max_messages_per_connection');
    if (kv.recipient_limit === 'none') out.recipientLimit = null;
    else if (kv.recipient_limit !== undefined) out.recipientLimit = { recipients: int('recipient_limit'), minutes: int('recipient_minutes') ?? 60 };
    // The appliance's files write 0/host or 1/MXIP, and 0/system or 1/VG.
    if (kv.limit_type !== undefined) {
      const word = kv.limit_type.toLowerCase();
      if (!/^(0|host|1|mxip)$/.test(word)) throw new DestinationParseError(`[${name}] limit_type must be host (0) or MXIP (1), not "${kv.limit_type}".`);
      out.limitType = /^(1|mxip)$/.test(word) ? 'mx-ip' : 'domain';
    }
    if (kv.limit_apply !== undefined) {
      const word = kv.limit_apply.toLowerCase();
      if (!/^(0|system|1|vg)$/.test(word)) throw new DestinationParseError(`[${name}] limit_apply must be system (0) or VG (1), not "${kv.limit_apply}".`);
      out.limitScope = /^(1|vg)$/.test(word) ? 'virtual-gateway' : 'system';
    }
    if (kv.bounce_profile !== undefined) out.bounceProfile = kv.bounce_profile;
    if (kv.bounce_validation !== undefined) {
      // The appliance's files write 0/1 (off/on).
      const word = kv.bounce_validation.toLowerCase();
      const on = /^(1|on|yes)$/.test(word) ? true : /^(0|off|no)$/.test(word) ? false : undefined;
      if (on === undefined) throw new DestinationParseError(`[${name}] bounce_validation must be 1 or 0, not "${kv.bounce_validation}".`);
      out.bounceVerification = on;
    }
    return out;
  };
  const check = <T>(name: string, schema: z.ZodType<T>, doc: unknown): T => {
    const result = schema.safeParse(doc);
    if (!result.success) throw new DestinationParseError(`[${name}] ${describeIssues(result.error, doc).join('; ')}`);
    return result.data;
  };
  const defaults = check('DEFAULT', DestinationDefaultsSchema, read('DEFAULT', sections.get('DEFAULT')!));
  const entries = [...sections.entries()].filter(([k]) => k !== 'DEFAULT').map(([domain, kv]) => check(domain, DestinationSchema, { domain, ...read(domain, kv) }));
  return { defaults, entries };
}
