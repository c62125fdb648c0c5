/**
 * MTA-STS text formats (RFC 8461): the `_mta-sts` TXT record, the policy file, and MX patterns.
 * Pure functions; the fetch and the cache are elsewhere. Hand-written rather than mailauth 4.x's
 * (the version Node 20 can run): it lets "*.example.com" match several labels and accepts bodies of
 * any size, both against the RFC.
 */

export type StsMode = 'enforce' | 'testing' | 'none';

export interface StsPolicy {
  mode: StsMode;
  /** MX patterns, lower case; "*.example.com" matches exactly one more label. */
  mx: string[];
  maxAge: number;
}

export class StsFormatError extends Error {
  override name = 'StsFormatError';
}

/** RFC 8461 §3.2: max_age is at most 31557600 seconds (about a year). */
export const MAX_AGE_LIMIT = 31_557_600;

/**
 * The policy id from the TXT records of `_mta-sts.<domain>` (each record's strings already joined):
 * exactly one record must begin with `v=STSv1`; its fields are `key=value` separated by ";", and
 * `id` is 1-32 letters or digits. Records not starting with v=STSv1 are ignored (RFC 8461 §3.1).
 */
/** Does a TXT record at _mta-sts claim to be an MTA-STS record (the others are ignored, RFC 8461 §3.1)? */
export const isStsRecord = (txt: string): boolean => /^v=STSv1(;|\s|$)/.test(txt);

export function parseStsRecords(txts: string[]): string {
  const sts = txts.filter(isStsRecord);
  if (sts.length === 0) throw new StsFormatError('no TXT record begins with v=STSv1');
  if (sts.length > 1) throw new StsFormatError(`${sts.length} TXT records begin with v=STSv1 (one is allowed)`);
  const fields = new Map<string, string>();
  for (const part of sts[0]!.split(';')) {
    const field = part.trim();
    if (!field) continue;
    const m = /^([A-Za-z0-9_.-]+)=([\x21-\x3a\x3c\x3e-\x7e]+)$/.exec(field);
    if (!m) throw new StsFormatError(`bad field "${field.slice(0, 40)}" in the TXT record`);
    if (fields.has(m[1]!)) throw new StsFormatError(`field "${m[1]}" appears twice in the TXT record`);
    fields.set(m[1]!, m[2]!);
  }
  const id = fields.get('id');
  if (id === undefined) throw new StsFormatError('the TXT record has no id');
  if (!/^[A-Za-z0-9]{1,32}$/.test(id)) throw new StsFormatError(`the id "${id.slice(0, 40)}" is not 1-32 letters or digits`);
  return id;
}

/**
 * A policy file: `key: value` lines ending in LF or CRLF. version STSv1, mode enforce|testing|none,
 * max_age 0-31557600, and at least one mx unless the mode is none. Unknown keys are ignored
 * (RFC 8461 §3.2); a known key given twice (other than mx) is an error.
 */
export function parsePolicyText(text: string): StsPolicy {
  const values = new Map<string, string>();
  const mx: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    if (raw.trim() === '') continue;
    const m = /^([A-Za-z0-9_-]+):[ \t]*(.*?)[ \t]*$/.exec(raw);
    if (!m) throw new StsFormatError(`not a "key: value" line: "${raw.slice(0, 60)}"`);
    const key = m[1]!.toLowerCase();
    const value = m[2]!;
    if (key === 'mx') {
      if (!isPattern(value)) throw new StsFormatError(`mx "${value.slice(0, 60)}" is not a host name or "*." pattern`);
      mx.push(value.toLowerCase().replace(/\.$/, ''));
    } else if (['version', 'mode', 'max_age'].includes(key)) {
      if (values.has(key)) throw new StsFormatError(`"${key}" appears twice`);
      values.set(key, value);
    }
  }
  if (values.get('version') !== 'STSv1') throw new StsFormatError(values.has('version') ? `version "${values.get('version')}" is not STSv1` : 'there is no version line');
  const mode = values.get('mode');
  if (mode !== 'enforce' && mode !== 'testing' && mode !== 'none') throw new StsFormatError(mode === undefined ? 'there is no mode line' : `mode "${mode}" is not enforce, testing or none`);
  const age = values.get('max_age');
  if (age === undefined) throw new StsFormatError('there is no max_age line');
  if (!/^\d{1,10}$/.test(age) || Number(age) > MAX_AGE_LIMIT) throw new StsFormatError(`max_age "${age}" is not a number of seconds up to ${MAX_AGE_LIMIT}`);
  if (mode !== 'none' && mx.length === 0) throw new StsFormatError(`mode ${mode} needs at least one mx line`);
  return { mode, mx, maxAge: Number(age) };
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

function isPattern(value: string): boolean {
  const labels = value.replace(/\.$/, '').split('.');
  if (labels[0] === '*') labels.shift();
  return labels.length >= 1 && value.length <= 253 && labels.every((l) => LABEL.test(l));
}

/**
 * Does an MX host fit a policy pattern (RFC 8461 §4.1)? Case-insensitive, trailing dot ignored; a
 * leading "*." stands for exactly one label: "*.example.com" matches mx1.example.com, not
 * a.b.example.com and not example.com.
 */
export function mxMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase().replace(/\.$/, '');
  const h = host.toLowerCase().replace(/\.$/, '');
  if (!p.startsWith('*.')) return p === h;
  const dot = h.indexOf('.');
  return dot > 0 && h.slice(dot + 1) === p.slice(2);
}

export const policyMatches = (policy: StsPolicy, host: string): boolean => policy.mx.some((p) => mxMatches(p, host));
