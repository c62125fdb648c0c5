import { certInfo, keyMatches, parseCertificate, parsePrivateKey } from '../../pki/certificate.js';
import { createSelfSigned, KEY_TYPES, type KeyType, type SubjectFields } from '../../pki/generate.js';
import { isFqdn, ISO_COUNTRY } from '../../pki/names.js';
import { certificatesIn } from '../../pki/pem.js';
import { exportPkcs12, importPkcs12 } from '../../pki/pkcs12.js';

import { findCertificate, putCertificate, setCustomCas, updateCertificate } from './certificates.js';
import { readKey, storeKey } from './keys.js';
import type { CertificateProfile, Config } from '../schema.js';
import { storeBundle } from './caBundles.js';
import { systemCas as storeSystemCas, trustedCas as storeTrustedCas } from './trust.js';
import { editConfig } from '../edit.js';
import { LIMITS } from '../grammar.js';
import { hasControlCharacters } from '../text.js';
import type { DataPaths } from '../paths.js';
import { InvalidAnswer } from '../answers.js';
import { ConfigError } from '../schema.js';

/**
 * What the certificate operations need of whoever edits: the data directory (keys are stored
 * there as they are made), the draft, and a way to show progress and warnings. The shell's Session
 * is one; the HTTPS interface's page handlers make another, so both use the same operations.
 */
export interface Editing {
  paths: DataPaths;
  draft: Config;
  io: { spin<T>(label: string, work: Promise<T>): Promise<T>; warn(text: string): void };
}

/** What certconfig and the GUI's Certificates page do, shared by the shell's dialogs, its batch forms and the GUI. Each call edits the draft. */

export const DEMO_WARNING =
  'You are currently using a demonstration certificate (Demo) which is not secure and is not recommended for general use.';

export function profile(session: Editing, name: string): CertificateProfile {
  const p = findCertificate(session.draft, name);
  if (!p) {
    const known = session.draft.certificates.map((c) => c.name);
    throw new ConfigError(`No certificate profile named "${name}".${known.length ? ` Known: ${known.join(', ')}.` : ''}`);
  }
  return p;
}

/** CN and SAN dNSName entries that are not fully qualified domain names. */
export function fqdnProblems(certPem: string): string[] {
  const info = certInfo(certPem);
  const problems: string[] = [];
  if (!isFqdn(info.commonName)) problems.push(`Common Name "${info.commonName}" is not in FQDN format`);
  for (const n of info.dnsNames) if (!isFqdn(n)) problems.push(`SAN dNSName "${n}" is not in FQDN format`);
  return problems;
}

/** Ways a certificate falls short of what TLS peers expect: imported anyway, with a warning. */
export function complianceWarnings(certPem: string): string[] {
  const c = parseCertificate(certPem);
  const info = certInfo(certPem);
  const warnings: string[] = [];
  if (info.status !== 'valid') warnings.push(`the certificate is ${info.status}`);
  if (!c.subjectAltName) warnings.push('the certificate has no subjectAltName extension (RFC 6125 peers match names there)');
  if (c.keyUsage && !c.keyUsage.includes('1.3.6.1.5.5.7.3.1')) warnings.push('the extended key usage does not allow TLS server authentication');
  if (info.keyType === 'RSA 1024') warnings.push('the key is RSA 1024, which many peers refuse');
  return warnings;
}

export interface NewOptions {
  name: string;
  subject: SubjectFields;
  days: number;
  key: KeyType;
}

export async function createProfile(session: Editing, options: NewOptions, overwrite = false): Promise<CertificateProfile> {
  const generated = await session.io.spin('Generating the key and certificate', createSelfSigned(options.subject, options.days, options.key));
  const keyRef = await storeKey(session.paths, generated.privateKeyPem);
  const p: CertificateProfile = { name: options.name, certificate: generated.certificatePem, intermediates: [], keyRef, csr: generated.csrPem, demo: false };
  session.draft = putCertificate(session.draft, p, overwrite);
  return p;
}

/** A CA-signed certificate for a profile's key replaces its self-signed one. */
export async function uploadCertificate(session: Editing, name: string, certText: string, intermediates?: string[]): Promise<void> {
  const p = profile(session, name);
  const [leaf, ...rest] = certificatesIn(certText, 'The uploaded file');
  const key = parsePrivateKey(await readKey(session.paths, p.keyRef));
  if (!keyMatches(leaf!, key)) {
    throw new ConfigError(`The certificate does not match the private key of profile "${p.name}" (it was not signed from this profile's CSR).`);
  }
  const chain = intermediates ?? (rest.length ? rest : p.intermediates);
  session.draft = updateCertificate(session.draft, p.name, { certificate: leaf!, intermediates: chain, csr: null });
  const info = certInfo(leaf!);
  if (chain.length === 0 && !info.selfSigned) {
    session.io.warn(`The certificate of ${p.name} comes without the intermediate certificates of its issuer (${info.issuerCommonName}): senders that verify need the chain up to a root they trust. Give them with --intermediate FILE unless ${info.issuerCommonName} is itself a root.`);
  }
}

export async function pasteProfile(session: Editing, name: string, certText: string, keyText: string, intermediates: string[], overwrite = false): Promise<void> {
  const [leaf, ...rest] = certificatesIn(certText, 'The certificate');
  const key = parsePrivateKey(keyText);
  if (!keyMatches(leaf!, key)) throw new ConfigError('The private key does not sign the certificate (key and certificate do not belong together).');
  const keyRef = await storeKey(session.paths, key.export({ type: 'pkcs8', format: 'pem' }).toString());
  session.draft = putCertificate(session.draft, { name, certificate: leaf!, intermediates: [...rest, ...intermediates], keyRef, csr: null, demo: false }, overwrite);
}

export async function importProfile(
  session: Editing,
  name: string | undefined,
  data: Buffer,
  passphrase: string,
  fqdnCheck: boolean,
  overwrite = false,
): Promise<{ name: string; warnings: string[] }> {
  return addImported(session, name, await openPkcs12(data, passphrase), fqdnCheck, overwrite);
}

export type Pkcs12Contents = Awaited<ReturnType<typeof importPkcs12>>;

/** A PKCS#12 file's certificate, chain and key (a wrong passphrase or a damaged file: one line). */
export const openPkcs12 = (data: Buffer, passphrase: string): Promise<Pkcs12Contents> => importPkcs12(data, passphrase);

/** What a PKCS#12 file held, as a profile (the FQDN check first, when asked for). */
export async function addImported(session: Editing, name: string | undefined, contents: Pkcs12Contents, fqdnCheck: boolean, overwrite = false): Promise<{ name: string; warnings: string[] }> {
  if (fqdnCheck) {
    const problems = fqdnProblems(contents.certificatePem);
    if (problems.length) throw new ConfigError(`FQDN check failed: ${problems.join('; ')}. Nothing was imported.`);
  }
  const profileName = name ?? defaultName(contents.certificatePem);
  const keyRef = await storeKey(session.paths, contents.privateKeyPem);
  session.draft = putCertificate(
    session.draft,
    { name: profileName, certificate: contents.certificatePem, intermediates: contents.chainPems, keyRef, csr: null, demo: false },
    overwrite,
  );
  return { name: profileName, warnings: complianceWarnings(contents.certificatePem) };
}

/** Profile names follow the object-name rules: the CN with other characters replaced. */
export function defaultName(certPem: string): string {
  const cn = certInfo(certPem).commonName || 'certificate';
  const cleaned = cn.replace(/^\*\./, 'wildcard.').replace(/[^A-Za-z0-9_.-]/g, '_');
  return /^[A-Za-z]/.test(cleaned) ? cleaned.slice(0, 64) : `cert_${cleaned}`.slice(0, 64);
}

export async function exportProfile(session: Editing, name: string, passphrase: string): Promise<Buffer> {
  const p = profile(session, name);
  return exportPkcs12(await readKey(session.paths, p.keyRef), [p.certificate, ...p.intermediates], passphrase);
}

export interface CaImportResult {
  added: string[];
  rejected: { subject: string; reason: string }[];
}

/** Import a PEM bundle into the custom CA list: each certificate a CA, current, and new. */
export function importCustomCas(session: Editing, bundle: string, fqdnCheck: boolean): CaImportResult {
  const current = session.draft.certificateAuthorities.custom.certificates;
  const seen = new Set(current.map((c) => parseCertificate(c).fingerprint256));
  const accepted: string[] = [];
  const result: CaImportResult = { added: [], rejected: [] };
  for (const pem of certificatesIn(bundle, 'The bundle')) {
    let info;
    try {
      info = certInfo(pem);
    } catch (err) {
      result.rejected.push({ subject: '(unreadable)', reason: (err as Error).message });
      continue;
    }
    const reason = !info.isCA
      ? 'not a CA certificate (basicConstraints CA is not TRUE)'
      : info.status !== 'valid'
        ? `the certificate is ${info.status}`
        : seen.has(info.fingerprint256)
          ? 'already in the custom list'
          : fqdnCheck && fqdnProblems(pem).length
            ? fqdnProblems(pem).join('; ')
            : undefined;
    if (reason) {
      result.rejected.push({ subject: info.subject, reason });
      continue;
    }
    seen.add(info.fingerprint256);
    accepted.push(pem);
    result.added.push(info.subject);
  }
  if (accepted.length) session.draft = setCustomCas(session.draft, [...current, ...accepted]);
  return result;
}

/** The system CA list of a configuration (see store/trust). */
export function systemCas(session: { paths: DataPaths }, config: Config): Promise<readonly string[]> {
  return storeSystemCas(session.paths, config);
}

/** Replace the system list with the CA certificates of a PEM bundle (for example the OS bundle). */
export async function updateSystemCas(session: Editing, bundleText: string, source: string): Promise<{ count: number; skipped: number; sha256: string }> {
  const all = certificatesIn(bundleText, 'The bundle');
  const cas = all.filter((pem) => {
    try {
      return certInfo(pem).isCA;
    } catch {
      return false;
    }
  });
  if (cas.length === 0) throw new ConfigError('The bundle holds no CA certificate; the system list was not changed.');
  const sha256 = await storeBundle(session.paths, cas);
  session.draft = editConfig(session.draft, (d) => {
    d.certificateAuthorities.system.bundle = { sha256, count: cas.length, updated: new Date().toISOString(), source };
  });
  return { count: cas.length, skipped: all.length - cas.length, sha256 };
}

/** The certificates of one list, as the draft has it. */
export function caList(session: Editing, list: 'system' | 'custom'): Promise<readonly string[]> {
  return list === 'system' ? systemCas(session, session.draft) : Promise.resolve(session.draft.certificateAuthorities.custom.certificates);
}

/** Trust anchors from the enabled lists (what delivery verification uses). */
export function trustedCas(session: { paths: DataPaths }, config: Config): Promise<string[]> {
  return storeTrustedCas(session.paths, config);
}

/** X.520 upper bounds of the subject fields a profile sets. */
const SUBJECT_LIMITS = { 'Common Name': LIMITS.commonName.max, Organization: 64, 'Organizational Unit': 64, Locality: 128, State: 128 } as const;

/** One subject field: within its X.520 length, no control characters. Empty is allowed except for the Common Name. */
export function checkSubjectField(what: keyof typeof SUBJECT_LIMITS, value: string): string {
  if (what === 'Common Name' && value === '') throw new InvalidAnswer('A Common Name is required.');
  if (value.length > SUBJECT_LIMITS[what]) throw new InvalidAnswer(`${what} is ${value.length} characters long; at most ${SUBJECT_LIMITS[what]} are allowed (X.520).`);
  if (hasControlCharacters(value)) throw new InvalidAnswer(`${what} must not contain control characters.`);
  return value;
}

export function validateSubject(cn: string, country: string, fqdnCheck: boolean): void {
  checkSubjectField('Common Name', cn);
  if (fqdnCheck && !isFqdn(cn)) throw new InvalidAnswer(`Common Name "${cn}" is not in FQDN format.`);
  if (!ISO_COUNTRY.test(country)) throw new InvalidAnswer('Country should be an ISO two character country code (for example JP).');
}

export function parseKeyType(value: string): KeyType {
  const v = value.toLowerCase() as KeyType;
  if (!KEY_TYPES.includes(v)) throw new ConfigError(`--key must be one of ${KEY_TYPES.join(', ')}, not "${value}".`);
  return v;
}

export function weakKeyWarning(session: Editing, key: KeyType): void {
  if (key === 'rsa1024') session.io.warn('RSA 1024 is weak: many mail servers refuse it, and it can be factored by a determined attacker. Use RSA 2048 or ECDSA P-256 unless a peer needs it.');
}

