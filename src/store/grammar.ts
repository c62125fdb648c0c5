import net from 'node:net';
import { domainToASCII, domainToUnicode } from 'node:url';

/**
 * The one grammar for values an administrator types: addresses, ranges, names, ports, e-mail
 * addresses, sizes and counts. Each check returns undefined when the value is good, or the reason
 * it is not (one sentence, naming the value). The configuration schema, the dialogs and the batch
 * forms all use these, so a value refused in one place is refused everywhere.
 */

const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * A host name (RFC 1123 LDH): labels of letters, digits and inner hyphens, at most 63 characters
 * each and 253 in all, one trailing dot allowed. The last label may not be all digits, so
 * `300.1.1.1` is neither an address nor a name.
 */
export function hostnameProblem(value: string): string | undefined {
  const name = value.endsWith('.') ? value.slice(0, -1) : value;
  if (name.length === 0) return 'A host name is required.';
  const idn = idnHint(name);
  if (idn) return idn;
  if (name.length > 253) return `"${short(value)}" is not a host name: longer than 253 characters.`;
  const labels = name.split('.');
  const bad = labels.find((l) => !LABEL.test(l));
  if (bad !== undefined) {
    if (bad.length > 63) return `"${short(value)}" is not a host name: the label "${short(bad)}" is longer than 63 characters.`;
    return `"${short(value)}" is not a host name: use letters, digits, "-" and "." only${bad === '' ? ' (with no empty label)' : ''}.`;
  }
  if (/^\d+$/.test(labels[labels.length - 1]!)) {
    return net.isIP(name) ? undefined : `"${value}" is neither an IP address nor a host name.`;
  }
  return undefined;
}

/**
 * An internationalized name (a U-label such as bücher.example) is not taken as typed: DNS, SMTP
 * and certificates carry its A-label, so the message gives it (with the name as typed, to check).
 */
function idnHint(name: string): string | undefined {
  if (/^[\x00-\x7f]*$/.test(name)) return undefined;
  const ascii = domainToASCII(name);
  if (!ascii || !/^[\x00-\x7f]*$/.test(ascii)) return `"${short(name)}" is not a host name: use letters, digits, "-" and "." only.`;
  return `"${short(name)}" is an internationalized name: give its A-label "${ascii}" (shown as ${domainToUnicode(ascii)}).`;
}

export const isHostname = (value: string): boolean => hostnameProblem(value) === undefined && net.isIP(value) === 0;

/** A domain, or ".domain" for every subdomain of it (destination controls, routes, RCPTACCESS). */
export function domainProblem(value: string, { subdomains = true } = {}): string | undefined {
  const name = subdomains && value.startsWith('.') ? value.slice(1) : value;
  if (net.isIP(name)) return `"${value}" is an IP address, not a domain.`;
  const problem = hostnameProblem(name);
  return problem === undefined ? undefined : problem.replace('is not a host name', `is not a domain${subdomains ? ' or ".domain"' : ''}`);
}

/** An IPv4 address as a dual-stack socket reports it (::ffff:192.0.2.1) in its plain form. */
export const unmappedAddress = (address: string): string => address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');

export const ipProblem = (value: string): string | undefined =>
  net.isIP(value) ? undefined : `"${short(value)}" is not an IPv4 or IPv6 address.`;

/** ADDRESS/BITS. */
export function cidrProblem(value: string): string | undefined {
  const m = /^(.+)\/(\d{1,3})$/.exec(value);
  const family = m ? net.isIP(m[1]!) : 0;
  if (!m || !family || Number(m[2]) > (family === 4 ? 32 : 128)) return `"${short(value)}" is not a valid CIDR range (ADDRESS/BITS).`;
  return undefined;
}

/** `10.1.` style partial IPv4 (one to three leading octets, ending in a dot). */
const PARTIAL_IPV4 = /^(\d{1,3}\.){1,3}$/;
/** `10.1.1.1-50`: an IPv4 address whose last octet is a range. */
export const LAST_OCTET_RANGE = /^((?:\d{1,3}\.){3})(\d{1,3})-(\d{1,3})$/;

const octetsOk = (octets: string[]) => octets.every((o) => Number(o) <= 255);

/**
 * A sender group entry as the appliance takes it: an IP address, a CIDR range, a partial IPv4
 * address ("10.1."), a last-octet range ("10.1.1.1-50"), a host name, ".domain", or ALL.
 */
export function senderPatternProblem(value: string): string | undefined {
  if (value === 'ALL' || net.isIP(value)) return undefined;
  if (value.includes('/')) return cidrProblem(value);
  if (PARTIAL_IPV4.test(value)) return octetsOk(value.split('.').filter(Boolean)) ? undefined : `"${value}" is not a partial IPv4 address (each number 0-255).`;
  const range = LAST_OCTET_RANGE.exec(value);
  if (range) {
    const [from, to] = [Number(range[2]), Number(range[3])];
    return net.isIP(`${range[1]}${from}`) === 4 && to <= 255 && from <= to ? undefined : `"${value}" is not an address range (e.g. 10.1.1.1-50).`;
  }
  if (/^[\d.]+$/.test(value)) return `"${value}" is not an IP address.`;
  const problem = domainProblem(value);
  return problem === undefined ? undefined : `Invalid IP or IP range or hostname: "${short(value)}".`;
}

/** The kind of a valid sender group entry, for matching. */
export function senderPatternKind(value: string): 'all' | 'ip' | 'cidr' | 'partial' | 'range' | 'name' {
  if (value === 'ALL') return 'all';
  if (net.isIP(value)) return 'ip';
  if (value.includes('/')) return 'cidr';
  if (PARTIAL_IPV4.test(value)) return 'partial';
  if (LAST_OCTET_RANGE.test(value)) return 'range';
  return 'name';
}

/** Is an IPv4 address inside a last-octet range entry? */
export function inLastOctetRange(range: string, ip: string): boolean {
  const m = LAST_OCTET_RANGE.exec(range);
  if (!m || net.isIP(ip) !== 4 || !ip.startsWith(m[1]!)) return false;
  const last = Number(ip.slice(m[1]!.length));
  return last >= Number(m[2]) && last <= Number(m[3]);
}

export function portProblem(value: string): string | undefined {
  const n = /^\d{1,5}$/.test(value.trim()) ? Number(value.trim()) : NaN;
  return n >= 1 && n <= 65535 ? undefined : `"${short(value)}" is not a TCP port (1-65535).`;
}

/** local@domain: no spaces or angle brackets in the local part, a host name after the @. */
export function emailProblem(value: string): string | undefined {
  const at = value.lastIndexOf('@');
  const local = value.slice(0, at);
  const domain = value.slice(at + 1);
  const idn = at >= 1 ? idnHint(domain) : undefined;
  if (idn) return `"${short(value)}" is not an e-mail address mxgate takes: its domain ${idn.replace(/^"[^"]*" is /, 'is ')}`;
  if (at < 1 || local.length > 64 || /[\s<>@",;]/.test(local) || domainProblem(domain, { subdomains: false }) !== undefined || !domain.includes('.')) {
    return `"${short(value)}" is not an e-mail address.`;
  }
  return undefined;
}

/** Limits on numbers the administrator sets, shared by the schema, dialogs and batch forms. */
export const LIMITS = {
  /** Mail flow policy parameters. Bytes: at most 2 GB less one (it is also SIZE in EHLO). */
  maxMessageSize: { min: 1, max: 2 ** 31 - 1 },
  maxConcurrency: { min: 1, max: 100000 },
  maxMessagesPerConnection: { min: 1, max: 1000000 },
  maxRecipientsPerMessage: { min: 1, max: 1000000 },
  /** X.520 ub-common-name. */
  commonName: { min: 1, max: 64 },
  /** Any other count typed at the shell (timeouts, retries); the schema may narrow it. */
  count: { min: 1, max: 2 ** 31 - 1 },
} as const;

/** A whole number within [min, max]; `what` names the field in the message. */
export function countProblem(value: string, what: string, limit: { min: number; max: number }): string | undefined {
  const n = /^\d{1,16}$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (Number.isSafeInteger(n) && n >= limit.min && n <= limit.max) return undefined;
  return `${what} must be a whole number from ${limit.min} to ${limit.max}, not "${short(value)}".`;
}

/** Values quoted in messages are cut short: a 5,000-character paste should not fill the screen. */
function short(value: string): string {
  return value.length > 80 ? `${value.slice(0, 77)}...` : value;
}

/** `commit confirmed MINUTES` and the GUI's "Undo after": a whole number of minutes, 1 to 1440 (a day). */
export function isConfirmMinutes(text: string): boolean {
  return /^\d{1,4}$/.test(text) && Number(text) >= 1 && Number(text) <= 1440;
}
