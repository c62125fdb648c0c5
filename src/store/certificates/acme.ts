import { X509Certificate } from 'node:crypto';
import { isFqdn } from '../../pki/names.js';
import { canonicalName } from '../domainMatch.js';
import { editConfig } from '../edit.js';
import { emailProblem } from '../grammar.js';
import { type CertificateProfile, type Config, ConfigError } from '../schema.js';
import { putCertificate, updateCertificate } from './certificates.js';

/** certconfig acme: the account and the profiles an ACME CA issues, as edits of the configuration. */

export type AcmeAccount = NonNullable<Config['acme']['account']>;
export type AcmeSettings = NonNullable<CertificateProfile['acme']>;

export function checkAcmeDirectory(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`"${url}" is not a URL: give the CA's ACME directory, e.g. https://acme-v02.api.letsencrypt.org/directory.`);
  }
  if (parsed.protocol !== 'https:') throw new ConfigError(`The ACME directory must be an https:// URL (RFC 8555 §6.1), not "${url}".`);
  return parsed.href;
}

export function checkAcmeEmail(email: string): string {
  const problem = emailProblem(email);
  if (problem) throw new ConfigError(`--email: ${problem}`);
  return email;
}

/** The names of an order: host names (a wildcard first label allowed), each once, at most 100. */
export function checkAcmeNames(list: string): string[] {
  const names = list.split(',').map((n) => canonicalName(n.trim())).filter(Boolean);
  if (!names.length) throw new ConfigError('Give the names the certificate is for: --names mx1.example.com[,mx.example.com…].');
  if (names.length > 100) throw new ConfigError(`At most 100 names in one certificate, not ${names.length}.`);
  const bad = names.filter((n) => !isFqdn(n));
  if (bad.length) throw new ConfigError(`Not a host name: ${bad.join(', ')} (names are fully qualified, e.g. mx1.example.com).`);
  return [...new Set(names)];
}

export function setAcmeAccount(config: Config, account: AcmeAccount): Config {
  return editConfig(config, (draft) => {
    draft.acme.account = account;
  });
}

/** A new profile (or, with overwrite, a replaced one) from an ACME order. */
export function putAcmeProfile(config: Config, profile: { name: string; certificate: string; intermediates: string[]; keyRef: string; acme: AcmeSettings }, overwrite: boolean): Config {
  return putCertificate(config, { ...profile, csr: null, demo: false }, overwrite);
}

export function setAcmeDane(config: Config, name: string, dane: AcmeSettings['dane']): Config {
  const p = config.certificates.find((c) => c.name.toLowerCase() === name.toLowerCase());
  if (!p?.acme) throw new ConfigError(`"${name}" is not an ACME certificate profile.`);
  const acme = { ...p.acme, dane };
  if (!dane) delete acme.dane;
  return updateCertificate(config, p.name, { acme });
}

export function setAcmeSettings(config: Config, changes: { retryMinutes?: number; alertAfter?: number }): Config {
  return editConfig(config, (draft) => {
    Object.assign(draft.acme, changes);
  });
}

/** A renewed certificate (and perhaps a new key) for an ACME profile. */
export interface Issued {
  certificate: string;
  intermediates: string[];
  keyRef: string;
}

export function renewAcmeProfile(config: Config, name: string, issued: Issued): Config {
  return updateCertificate(config, name, { ...issued, csr: null });
}

/** The same change on the profile alone (a cluster commits it at the level that sets the profile). */
export function renewedProfile<P extends CertificateProfile>(profile: P, issued: Issued): P {
  return { ...profile, ...issued, csr: null };
}

/** When a certificate is due for renewal: two thirds into its lifetime (the usual ACME practice). */
export function renewalDue(certificatePem: string): Date {
  const c = new X509Certificate(certificatePem);
  const from = Date.parse(c.validFrom);
  const to = Date.parse(c.validTo);
  return new Date(from + ((to - from) * 2) / 3);
}

/** One line for a rollover step (certconfig acme status and tlsa, the GUI's certificate page). */
export function rolloverText(r: { step: string; since: string; ttl: number; current: string; next: string }): string {
  const keys = `current 3 1 1 ${r.current.slice(0, 16)}…, next ${r.next.slice(0, 16)}…`;
  switch (r.step) {
    case 'published':
      return `next record published ${r.since}, waiting for a validating lookup to see it (${keys})`;
    case 'visible':
      return `both records visible since ${r.since}; the new certificate goes in service ${r.ttl} seconds after that (${keys})`;
    default:
      return `new certificate in service since ${r.since}; the old record goes ${r.ttl} seconds after that (${keys})`;
  }
}

/** When a profile renews, and why then. */
export function dueText(s: { due: string; dueBy: 'ari' | 'lifetime'; explanationURL?: string }): string {
  return s.dueBy === 'ari' ? `${s.due} (in the window the CA suggests${s.explanationURL ? `: ${s.explanationURL}` : ''})` : `${s.due} (two thirds of its lifetime)`;
}
