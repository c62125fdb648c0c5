import { editConfig, notFound } from '../edit.js';
import { hatOffersTls } from '../listeners/hat.js';
import { type CertificateProfile, type Config, ConfigError, sameName } from '../schema.js';

export function findCertificate(config: Config, name: string): CertificateProfile | undefined {
  return config.certificates.find((c) => sameName(c.name, name));
}

/** The profile a service presents: the one it names, or the demonstration certificate when it names none. */
export function presentedProfile(config: Config, name: string | null): CertificateProfile | undefined {
  return name === null ? config.certificates.find((c) => c.demo) : findCertificate(config, name);
}

function indexOf(config: Config, name: string): number {
  const index = config.certificates.findIndex((c) => sameName(c.name, name));
  if (index < 0) throw notFound('certificate profile', name, config.certificates.map((c) => c.name));
  return index;
}

/** What uses a profile, in words ("listener InboundMail", "outbound TLS (destconfig)"). */
export function certificateUsers(config: Config, name: string): string[] {
  const isDemo = config.certificates.some((c) => c.demo && sameName(c.name, name));
  // A listener with no profile presents the demo certificate when it offers TLS.
  const users = config.listeners
    .filter((l) => (l.certificate !== null ? sameName(l.certificate, name) : isDemo && hatOffersTls(l.hat)))
    .map((l) => `listener ${l.name}`);
  // Outbound TLS without a SETUP certificate presents the demo certificate too.
  const outboundTls = [config.delivery.defaults, ...config.delivery.destinations].some((d) => d.tls !== undefined && d.tls !== 'no');
  if (config.delivery.certificate !== null ? sameName(config.delivery.certificate, name) : isDemo && outboundTls) users.push('outbound TLS (destconfig)');
  for (const i of config.interfaces) {
    if (i.https && (i.https.certificate !== null ? sameName(i.https.certificate, name) : isDemo)) users.push(`HTTPS on interface ${i.name}`);
  }
  return users;
}

/** Add a profile, or replace one of the same name when `overwrite` is set. */
export function putCertificate(config: Config, profile: CertificateProfile, overwrite = false): Config {
  const existing = config.certificates.findIndex((c) => sameName(c.name, profile.name));
  if (existing >= 0 && !overwrite) throw new ConfigError(`Certificate profile "${profile.name}" already exists.`);
  return editConfig(config, (draft) => {
    if (existing >= 0) draft.certificates[existing] = { ...profile, name: draft.certificates[existing]!.name };
    else draft.certificates.push(profile);
  });
}

export function updateCertificate(config: Config, name: string, changes: Partial<Omit<CertificateProfile, 'name'>>): Config {
  const index = indexOf(config, name);
  return editConfig(config, (draft) => {
    Object.assign(draft.certificates[index]!, changes);
  });
}

export function deleteCertificate(config: Config, name: string): Config {
  const index = indexOf(config, name);
  const users = certificateUsers(config, name);
  if (users.length) {
    throw new ConfigError(`Certificate profile "${config.certificates[index]!.name}" is used by ${users.join(', ')}; assign another certificate there first.`);
  }
  return editConfig(config, (draft) => {
    draft.certificates.splice(index, 1);
  });
}

/** The profiles in use that are the demonstration certificate. */
export function demoInUse(config: Config): { name: string; users: string[] }[] {
  return config.certificates
    .filter((c) => c.demo)
    .map((c) => ({ name: c.name, users: certificateUsers(config, c.name) }))
    .filter((d) => d.users.length > 0);
}

export function setCaListEnabled(config: Config, list: 'system' | 'custom', enabled: boolean): Config {
  return editConfig(config, (draft) => {
    draft.certificateAuthorities[list].enabled = enabled;
  });
}

export function setCustomCas(config: Config, certificates: string[]): Config {
  return editConfig(config, (draft) => {
    draft.certificateAuthorities.custom.certificates = certificates;
  });
}

/** The 1-based position, in the list of profiles, of the one a service presents: a dialog's default (Enter keeps it). */
export function currentCertificateIndex(config: Config, name: string | null): number {
  const current = presentedProfile(config, name);
  return current ? config.certificates.indexOf(current) + 1 : 1;
}
