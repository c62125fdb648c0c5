import { shellTime } from '../../store/dates.js';
import { certInfo } from '../../pki/certificate.js';
import type { KeyType } from '../../pki/generate.js';
import { InvalidAnswer } from '../../shell/io.js';
import type { Session } from '../../shell/session.js';
import { certificateUsers, deleteCertificate, findCertificate, setCaListEnabled, setCustomCas, updateCertificate } from '../../store/certificates/certificates.js';
import type { CertificateProfile } from '../../store/schema.js';
import { checkName } from '../../store/answers.js';
import { readConfigFile, writeConfigFile } from '../files.js';
import {
  addImported,
  createProfile,
  defaultName,
  exportProfile,
  importCustomCas,
  openPkcs12,
  pasteProfile,
  caList,
  updateSystemCas,
  uploadCertificate,
  validateSubject,
  checkSubjectField,
  weakKeyWarning,
} from '../../store/certificates/operations.js';
import { caDetails, profileDetails, profileTable, systemListVersion } from './print.js';

const pick = (session: Session, question: string): Promise<CertificateProfile> =>
  session.io.choose(
    question,
    session.draft.certificates.map((c) => ({ label: `${c.name} (${certInfo(c.certificate).commonName})`, value: c })),
  );

/** Name question shared by NEW, PASTE and IMPORT; an existing name asks before overwriting. */
async function askProfileName(session: Session, defaultName?: string): Promise<{ name: string; overwrite: boolean } | undefined> {
  const name = await session.io.ask('Enter a name for this certificate profile:', { default: defaultName, validate: checkName });
  if (!findCertificate(session.draft, name)) return { name, overwrite: false };
  const overwrite = await session.io.confirm(`Certificate profile "${name}" already exists. Do you want to overwrite with this new one?`, false);
  return overwrite ? { name, overwrite } : undefined;
}

const askFqdnCheck = (session: Session, what = 'Common Name is') =>
  session.io.confirm(`Do you want to check if ${what} in Fully Qualified Domain Name(FQDN) format?`, false);

/**
 * NEW, in the AsyncOS guide's order: the subject (CN, O, OU, L, ST, C), the signature algorithm,
 * the validity, the key size (RSA only), then the FQDN check and the profile's name (default: the
 * Common Name), and the CSR.
 */
async function newDialog(session: Session): Promise<void> {
  const io = session.io;
  const cn = await io.ask('Enter Common Name:', { validate: (v) => checkSubjectField('Common Name', v) });
  const optional = (q: string, field: Parameters<typeof checkSubjectField>[0]) =>
    io.ask(q, { default: '', allowEmpty: true, validate: (v) => checkSubjectField(field, v) }).then((v) => v || undefined);
  const organization = await optional('Enter Organization:', 'Organization');
  const organizationalUnit = await optional('Enter Organizational Unit (optional):', 'Organizational Unit');
  const locality = await optional('Enter Locality or City:', 'Locality');
  const state = await optional('Enter State or Province:', 'State');
  const country = await io.ask('Enter Country (2-letter ISO code):', {
    validate: (s) => {
      validateSubject(cn, s.toUpperCase(), false);
      return s.toUpperCase();
    },
  });
  const algorithm = await io.choose<'rsa' | 'ecdsa'>('Select the signature algorithm:', [
    { label: 'sha256WithRSAEncryption', value: 'rsa' },
    { label: 'ecdsa-with-SHA256 (key ECDSA P-256)', value: 'ecdsa' },
  ]);
  const days = await io.askInt('Duration before expiration (in days):', { default: 3650, min: 1, max: 36500 });
  const key: KeyType =
    algorithm === 'ecdsa'
      ? 'ecdsa-p256'
      : await io.choose<KeyType>('Select the size of the private key:', [
          { label: '2048', value: 'rsa2048' },
          { label: '1024 (weak)', value: 'rsa1024' },
        ]);
  weakKeyWarning(session, key);
  if (await askFqdnCheck(session)) validateSubject(cn, country, true);
  const named = await askProfileName(session, cn.replace(/[^A-Za-z0-9_.-]/g, '_'));
  if (!named) return;
  const p = await createProfile(session, { name: named.name, subject: { commonName: cn, organization, organizationalUnit, locality, state, country }, days, key }, named.overwrite);
  io.print(`Certificate profile ${p.name} created.`);
  if (await io.confirm('Do you want to view the CSR?', true)) io.print(p.csr!.trimEnd());
}

async function readPemAnswer(session: Session, what: string): Promise<string> {
  if (await session.io.confirm(`Do you want to paste the ${what}? (N: read it from a file)`, true)) {
    return session.io.paste(`Paste the ${what} in PEM format`);
  }
  const file = await session.io.ask('Enter the name of the file in the configuration directory:');
  return (await readConfigFile(session, file)).toString('utf8');
}

async function editDialog(session: Session): Promise<void> {
  const io = session.io;
  let name = (await pick(session, 'Select the certificate profile you wish to edit.')).name;
  const current = () => findCertificate(session.draft, name)!;
  await io.menuLoop(
    () => {
      const p = current();
      const info = certInfo(p.certificate);
      io.print('', `Profile ${p.name}: ${info.subject}; issued by ${info.selfSigned ? 'itself (self-signed)' : info.issuer}; ${p.intermediates.length} intermediate(s)${p.csr ? '; CSR pending' : ''}`);
    },
    [
      {
        keyword: 'CSR',
        text: 'View the certificate signing request.',
        run: async () => io.print(current().csr?.trimEnd() ?? 'This profile has no pending signing request.'),
      },
      {
        keyword: 'DOWNLOAD',
        text: 'Write the certificate signing request to a file.',
        run: async () => {
          const csr = current().csr;
          if (!csr) return io.print('This profile has no pending signing request.');
          const file = await writeConfigFile(session, await io.ask('Enter the file name:', { default: `${name}.csr` }), csr);
          io.print(`The CSR was written to ${file}.`);
        },
      },
      {
        keyword: 'UPLOAD',
        text: 'Upload the certificate signed by a CA.',
        run: async () => {
          const text = await readPemAnswer(session, 'signed certificate');
          await uploadCertificate(session, name, text);
          io.print('The signed certificate replaces the self-signed one after "commit".');
        },
      },
      {
        keyword: 'INTERMEDIATE',
        text: 'Add or remove intermediate certificates.',
        run: async () => {
          const p = current();
          p.intermediates.forEach((c, i) => io.print(`${i + 1}. ${certInfo(c).subject}`));
          if (await io.confirm('Do you want to add an intermediate certificate?', false)) {
            const text = await readPemAnswer(session, 'intermediate certificate');
            const { certificatesIn } = await import('../../pki/pem.js');
            session.draft = updateCertificate(session.draft, name, { intermediates: [...p.intermediates, ...certificatesIn(text, 'The intermediate')] });
          }
          const now = current().intermediates;
          if (now.length && (await io.confirm('Do you want to remove an intermediate certificate?', false))) {
            const index = await io.choose('Select the intermediate to remove.', now.map((c, i) => ({ label: certInfo(c).subject, value: i })));
            session.draft = updateCertificate(session.draft, name, { intermediates: now.filter((_, i) => i !== index) });
          }
        },
      },
    ],
  );
  name = current().name;
}

async function pasteDialog(session: Session): Promise<void> {
  const io = session.io;
  const named = await askProfileName(session);
  if (!named) return;
  const cert = await io.paste('Paste public certificate in PEM format');
  const key = await io.paste('Paste private key in PEM format');
  const intermediates: string[] = [];
  while (await io.confirm('Do you want to add an intermediate certificate?', false)) intermediates.push(await io.paste('Paste intermediate certificate in PEM format'));
  await pasteProfile(session, named.name, cert, key, intermediates, named.overwrite);
  io.print(`Certificate profile ${named.name} created.`);
}

/**
 * IMPORT, in the AsyncOS guide's order: the file and its passphrase, then what it holds is shown,
 * then the FQDN check and the profile's name (default: from the Common Name).
 */
async function importDialog(session: Session): Promise<void> {
  const io = session.io;
  const file = await io.ask(`Enter the name of the file on machine "${session.draft.hostname}" to import:`);
  const data = await readConfigFile(session, file);
  const pass = await io.secret('Enter pass phrase for PKCS#12 file:');
  const contents = await openPkcs12(data, pass);
  const info = certInfo(contents.certificatePem);
  io.print(
    `Subject:      ${info.subject}`,
    `Issuer:       ${info.selfSigned ? 'itself (self-signed)' : info.issuer}`,
    `Valid:        ${info.notBefore.toUTCString()} to ${info.notAfter.toUTCString()} (${info.status})`,
    `Names:        ${info.dnsNames.length ? info.dnsNames.join(', ') : '(no DNS names)'}`,
    `Key:          ${info.keyType}; ${contents.chainPems.length} intermediate certificate(s)`,
  );
  const fqdn = await askFqdnCheck(session, 'Common Name or SAN:dNSName or both are');
  const named = await askProfileName(session, defaultName(contents.certificatePem));
  if (!named) return;
  const result = await addImported(session, named.name, contents, fqdn, named.overwrite);
  for (const w of result.warnings) io.warn(`non-compliant X.509 certificate: ${w}.`);
  io.print(`Certificate profile ${result.name} imported.`);
}

async function exportDialog(session: Session): Promise<void> {
  const io = session.io;
  const p = await pick(session, 'Select the certificate profile you wish to export.');
  const file = await io.ask('Enter the file name to export to:', { default: `${p.name}.p12` });
  const pass = await io.newSecret('Create a passphrase for file:', 'Confirm the passphrase for file:');
  const written = await writeConfigFile(session, file, await exportProfile(session, p.name, pass));
  io.print(`Certificate profile ${p.name} was exported to ${written}.`);
}

async function deleteDialog(session: Session): Promise<void> {
  const p = await pick(session, 'Select the certificate profile you wish to delete.');
  const users = certificateUsers(session.draft, p.name);
  if (users.length) return session.io.print(`Certificate profile ${p.name} is used by ${users.join(', ')}; it cannot be deleted.`);
  if (await session.io.confirm(`Do you want to delete "${p.name}"?`, false)) {
    session.draft = deleteCertificate(session.draft, p.name);
    session.io.print(`Certificate profile ${p.name} deleted.`);
  }
}

export function certificateDialog(session: Session): Promise<void> {
  return session.io.menuLoop(
    () => session.io.print('', ...profileTable(session.draft)),
    [
      { keyword: 'IMPORT', text: 'Import a certificate from a local PKCS#12 file', run: () => importDialog(session) },
      { keyword: 'PASTE', text: 'Paste a certificate and private key', run: () => pasteDialog(session) },
      { keyword: 'NEW', text: 'Create a self-signed certificate and CSR', run: () => newDialog(session) },
      { keyword: 'EDIT', text: 'Update certificate or view the signing request', run: () => editDialog(session) },
      { keyword: 'EXPORT', text: 'Export a certificate to a PKCS#12 file', run: () => exportDialog(session) },
      { keyword: 'DELETE', text: 'Delete a certificate', run: () => deleteDialog(session) },
      { keyword: 'PRINT', text: 'Display certificates assigned to services', run: async () => session.io.print(...profileDetails(session.draft)) },
    ],
  );
}

function listDialog(session: Session, list: 'system' | 'custom'): Promise<void> {
  const io = session.io;
  const certs = () => caList(session, list);
  const toggle = (enabled: boolean) => async () => {
    session.draft = setCaListEnabled(session.draft, list, enabled);
  };
  const actions = [
    { keyword: 'ENABLE', text: 'Enable the list.', run: toggle(true) },
    { keyword: 'DISABLE', text: 'Disable the list.', run: toggle(false) },
    {
      keyword: 'PRINT',
      text: 'Display the list, or one certificate in full.',
      run: async () => {
        const all = await certs();
        await io.page(all.map((c, i) => `${i + 1}. ${certInfo(c).subject}`));
        if (!all.length) return;
        const n = await io.askInt(`Enter the number of a certificate to see it in full (0: none):`, { default: 0, min: 0, max: all.length });
        if (n > 0) io.print(...caDetails(all[n - 1]!, n));
      },
    },
    {
      keyword: 'EXPORT',
      text: 'Export the list, or one certificate, to a file.',
      run: async () => {
        const all = await certs();
        if (!all.length) return io.print(`The ${list} list is empty.`);
        if (await io.confirm('Do you want to export all certificates?', true)) {
          const file = await writeConfigFile(session, await io.ask('Enter a name for the exported file:', { default: `${list}_ca.txt` }), all.join(''));
          io.print(`${all.length} certificate(s) exported to ${file}.`);
          return;
        }
        const chosen = await io.choose('Select the certificate to export:', all.map((c, i) => ({ label: certInfo(c).subject, value: i })));
        const file = await writeConfigFile(session, await io.ask('Enter a name for the exported file:', { default: `${list}_ca_${chosen + 1}.pem` }), all[chosen]!);
        io.print(`Certificate ${chosen + 1} (${certInfo(all[chosen]!).subject}) exported to ${file}.`);
      },
    },
  ];
  if (list === 'system') {
    actions.push({
      keyword: 'UPDATE',
      text: 'Load the system list from a PEM bundle (for example the OS bundle).',
      run: async () => {
        const file = await io.ask('Enter the name of the PEM bundle file (configuration directory, or an absolute path):', { default: '/etc/ssl/certs/ca-certificates.crt' });
        const text = (await readConfigFile(session, file, { absolute: true })).toString('utf8');
        const r = await io.spin('Loading the bundle', updateSystemCas(session, text, file));
        io.print(`System list: ${r.count} CA certificates, SHA-256 ${r.sha256}${r.skipped ? ` (${r.skipped} non-CA certificates skipped)` : ''}; in use after "commit".`);
      },
    });
  }
  if (list === 'custom') {
    actions.push(
      {
        keyword: 'IMPORT',
        text: 'Import a list of custom CAs from a file.',
        run: async () => {
          const file = await io.ask(`Enter the name of the file on machine "${session.draft.hostname}" to import:`);
          const bundle = (await readConfigFile(session, file)).toString('utf8');
          const fqdn = await askFqdnCheck(session, 'Common Name or SAN:dNSName or both are');
          const result = importCustomCas(session, bundle, fqdn);
          for (const r of result.rejected) io.print(`Rejected: ${r.subject}: ${r.reason}`);
          io.print(`${result.added.length} certificate(s) added to the custom list, ${result.rejected.length} rejected.`);
          if (result.added.length) await offerCustomList(session);
        },
      },
      {
        keyword: 'DELETE',
        text: 'Delete a custom CA certificate.',
        run: async () => {
          const list = session.draft.certificateAuthorities.custom.certificates;
          if (!list.length) return io.print('The custom list is empty.');
          const index = await io.choose('Select the custom ca certificate you wish to delete.', list.map((c, i) => ({ label: certInfo(c).subject, value: i })));
          if (await io.confirm('Are you sure you want to delete it?', false)) session.draft = setCustomCas(session.draft, list.filter((_, i) => i !== index));
        },
      },
    );
  }
  return io.menuLoop(
    async () => {
      io.print('', `${list === 'system' ? 'System' : 'Custom'} List: ${session.draft.certificateAuthorities[list].enabled ? 'Enabled' : 'Disabled'} (${(await certs()).length} certificates)`);
      if (list === 'system') io.print(`Version: ${systemListVersion(session.draft)}`);
    },
    actions,
  );
}

async function manageRoots(session: Session): Promise<void> {
  const io = session.io;
  const system = await caList(session, 'system');
  const all = [
    ...session.draft.certificateAuthorities.custom.certificates.map((c) => ({ list: 'custom', pem: c })),
    ...system.map((c) => ({ list: 'system', pem: c })),
  ];
  io.print(`Trusted root certificates: ${session.draft.certificateAuthorities.custom.certificates.length} custom, ${system.length} system.`);
  const n = await io.ask('Enter the number of a root certificate to see its details (empty: back; "list" to list them):', {
    default: '',
    allowEmpty: true,
    validate: (s) => {
      if (s === '' || s.toLowerCase() === 'list') return s.toLowerCase();
      if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > all.length) throw new InvalidAnswer(`Enter a number from 1 to ${all.length}.`);
      return s;
    },
  });
  if (n === '') return;
  if (n === 'list') {
    await io.page(all.map((c, i) => `${i + 1}. [${c.list}] ${certInfo(c.pem).subject}`));
    return manageRoots(session);
  }
  const chosen = all[Number(n) - 1]!;
  const info = certInfo(chosen.pem);
  io.print(`List: ${chosen.list}`, `Subject: ${info.subject}`, `Issuer: ${info.issuer}`, `Valid: ${shellTime(info.notBefore)} - ${shellTime(info.notAfter)} (${info.status})`, `Key: ${info.keyType}`, `SHA-256 fingerprint: ${info.fingerprint256}`);
  if (await io.confirm('Do you want to download it as a PEM file?', false)) {
    const file = await writeConfigFile(session, await io.ask('Enter the file name:', { default: `root-${n}.pem` }), chosen.pem);
    io.print(`Written to ${file}.`);
  }
}

export function certauthorityDialog(session: Session): Promise<void> {
  const cas = () => session.draft.certificateAuthorities;
  return session.io.menuLoop(
    () => session.io.print('', `Custom List: ${cas().custom.enabled ? 'Enabled' : 'Disabled'}`, `System List: ${cas().system.enabled ? 'Enabled' : 'Disabled'}`),
    [
      { keyword: 'CUSTOM', text: 'Manage Custom Certificate Authorities', run: () => listDialog(session, 'custom') },
      { keyword: 'SYSTEM', text: 'Manage System Certificate Authorities', run: () => listDialog(session, 'system') },
      { keyword: 'ROOTS', text: 'Manage trusted root certificates', run: () => manageRoots(session) },
    ],
  );
}

/**
 * After an import into the custom CA list while it is disabled: its certificates verify nothing
 * until it is enabled. At a terminal the shell offers to enable it; a script is told how.
 */
export async function offerCustomList(session: Session): Promise<void> {
  if (session.draft.certificateAuthorities.custom.enabled) return;
  const text = 'The custom CA list is disabled: its certificates are not used to verify peers until it is enabled.';
  if (!session.io.interactive) {
    session.io.warn(`${text} "certconfig certauthority custom enable" enables it.`);
    return;
  }
  session.io.print(text);
  if (await session.io.confirm('Do you want to enable the custom list now?', true)) {
    session.draft = setCaListEnabled(session.draft, 'custom', true);
    session.io.print('The custom CA list is enabled (after "commit").');
  }
}
