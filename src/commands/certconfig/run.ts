import { certInfo } from '../../pki/certificate.js';
import { tlsaRecordsFor } from '../../pki/tlsa.js';
import { type Command, noMoreWords, parseOptions, required, takeWords } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import type { Session } from '../../shell/session.js';
import { certificateUsers, deleteCertificate, demoInUse, setCaListEnabled, setCustomCas } from '../../store/certificates/certificates.js';
import { checkName, optionalCount } from '../../store/answers.js';
import { editConfig } from '../../store/edit.js';
import { readConfigFile, writeConfigFile } from '../files.js';
import { readPassphraseFile } from '../passphrase.js';
import { certificateDialog, certauthorityDialog, offerCustomList } from './dialogs.js';
import {
  createProfile,
  DEMO_WARNING,
  exportProfile,
  importCustomCas,
  importProfile,
  pasteProfile,
  profile,
  caList,
  updateSystemCas,
  uploadCertificate,
  validateSubject,
  checkSubjectField,
  parseKeyType,
  weakKeyWarning,
} from '../../store/certificates/operations.js';
import { profileDetails, profileTable, systemListVersion, caDetails } from './print.js';
import { rolloverText } from '../../store/certificates/acme.js';

export function printDemoWarning(session: Session): void {
  for (const d of demoInUse(session.draft)) session.io.warn(`${DEMO_WARNING} Used by: ${d.users.join(', ')}.`);
}

export async function batch(session: Session, command: Command, verb: string, rest: string[]): Promise<void> {
  const io = session.io;
  const { values, positionals } = parseOptions(command, rest, {
    cn: { type: 'string' },
    org: { type: 'string' },
    unit: { type: 'string' },
    locality: { type: 'string' },
    state: { type: 'string' },
    country: { type: 'string' },
    days: { type: 'string' },
    'fqdn-check': { type: 'boolean' },
    file: { type: 'string' },
    cert: { type: 'string' },
    key: { type: 'string' },
    intermediate: { type: 'string', multiple: true },
    'passphrase-file': { type: 'string' },
    overwrite: { type: 'boolean' },
    port: { type: 'string' },
    'warn-days': { type: 'string' },
  });
  const name = takeWords(command, positionals, 1)[0];
  const intermediates = async () => {
    const out: string[] = [];
    for (const f of values.intermediate ?? []) out.push((await readConfigFile(session, f)).toString('utf8'));
    return out;
  };
  switch (verb) {
    case 'new': {
      const cn = required(command, values.cn, '--cn');
      const country = required(command, values.country, '--country').toUpperCase();
      validateSubject(cn, country, Boolean(values['fqdn-check']));
      checkSubjectField('Organization', values.org ?? '');
      checkSubjectField('Organizational Unit', values.unit ?? '');
      checkSubjectField('Locality', values.locality ?? '');
      checkSubjectField('State', values.state ?? '');
      const days = values.days === undefined ? 3650 : Number(values.days);
      if (!Number.isInteger(days) || days < 1 || days > 36500) throw new CommandError(`--days must be a whole number of days (1-36500), not "${values.days}".`);
      const key = parseKeyType(values.key ?? 'rsa2048');
      const profileName = checkName(name ?? cn.replace(/[^A-Za-z0-9_.-]/g, '_'));
      weakKeyWarning(session, key);
      if (!(await replacingInUse(session, profileName, values.overwrite, 'a new self-signed certificate'))) return;
      await createProfile(
        session,
        {
          name: profileName,
          subject: { commonName: cn, organization: values.org, organizationalUnit: values.unit, locality: values.locality, state: values.state, country },
          days,
          key,
        },
        Boolean(values.overwrite),
      );
      io.print(`Certificate profile ${profileName} created (self-signed, ${days} days). "certconfig csr ${profileName} --file FILE" writes its CSR.`);
      return;
    }
    case 'csr': {
      const p = profile(session, required(command, name, 'NAME'));
      if (!p.csr) throw new CommandError(`Certificate profile "${p.name}" has no pending signing request (its certificate is already CA-signed or was imported).`);
      if (values.file === undefined) {
        io.print(p.csr.trimEnd());
        return;
      }
      const file = await writeConfigFile(session, values.file, p.csr);
      io.print(`The CSR of ${p.name} was written to ${file}.`);
      return;
    }
    case 'upload': {
      const p = profile(session, required(command, name, 'NAME'));
      const cert = (await readConfigFile(session, required(command, values.file, '--file'))).toString('utf8');
      await uploadCertificate(session, p.name, cert, values.intermediate ? await intermediates() : undefined);
      io.print(`The signed certificate was uploaded to ${p.name}; it replaces the self-signed certificate after "commit".`);
      return;
    }
    case 'paste': {
      const profileName = checkName(required(command, name, 'NAME'));
      const cert = (await readConfigFile(session, required(command, values.cert, '--cert'))).toString('utf8');
      const key = (await readConfigFile(session, required(command, values.key, '--key'))).toString('utf8');
      if (!(await replacingInUse(session, profileName, values.overwrite, 'the pasted certificate and key'))) return;
      await pasteProfile(session, profileName, cert, key, await intermediates(), Boolean(values.overwrite));
      io.print(`Certificate profile ${profileName} created from the pasted certificate and key.`);
      return;
    }
    case 'import': {
      const data = await readConfigFile(session, required(command, values.file, '--file'));
      const pass = await readPassphraseFile(session, required(command, values['passphrase-file'], '--passphrase-file'));
      if (name !== undefined && !(await replacingInUse(session, checkName(name), values.overwrite, 'the imported certificate and key'))) return;
      const result = await importProfile(session, name === undefined ? undefined : checkName(name), data, pass, Boolean(values['fqdn-check']), Boolean(values.overwrite));
      for (const w of result.warnings) io.warn(`non-compliant X.509 certificate: ${w}.`);
      io.print(`Certificate profile ${result.name} imported.`);
      return;
    }
    case 'export': {
      const p = profile(session, required(command, name, 'NAME'));
      const pass = await readPassphraseFile(session, required(command, values['passphrase-file'], '--passphrase-file'));
      const file = await writeConfigFile(session, required(command, values.file, '--file'), await exportProfile(session, p.name, pass));
      io.print(`Certificate profile ${p.name} was exported to ${file} (PKCS#12, key encrypted).`);
      return;
    }
    case 'expiry': {
      takeWords(command, positionals, 0);
      const days = optionalCount(values['warn-days'], '--warn-days', { min: 1, max: 365 });
      if (days !== undefined) session.draft = editConfig(session.draft, (d) => void (d.alerts.certificateWarnDays = days));
      io.print(
        `Certificate expiry alerts: a System/Warning alert ${session.draft.alerts.certificateWarnDays} day(s) before a certificate in use expires, and again when it has expired${days !== undefined ? ' (after "commit")' : ''}.`,
      );
      return;
    }
    case 'print':
      io.print(...(name === undefined ? profileTable(session.draft) : profileDetails({ ...session.draft, certificates: [profile(session, name)] }).slice(1)));
      return;
    case 'tlsa': {
      const p = profile(session, required(command, name, 'NAME'));
      const port = values.port === undefined ? 25 : Number(values.port);
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new CommandError(`--port must be 1-65535, not "${values.port}".`);
      const records = tlsaRecordsFor(p.certificate, p.intermediates, port);
      if (!records.length) throw new CommandError(`Certificate profile ${p.name} names no host (no dNSName and no CN): there is no owner name for a TLSA record.`);
      io.print(
        `TLSA records for certificate profile ${p.name} (publish them in a DNSSEC-signed zone):`,
        ...records,
        '3 1 1 pins this certificate\'s key; 2 1 1 pins the key of the CA that issued it (kept across renewals by that CA).',
        ...(p.acme?.dane
          ? ['The engine keeps these records itself (certconfig acme dane) and rolls them over before a new key is served.']
          : [
              'Before the key changes (a new profile, "--overwrite", a renewal with a new key), publish the new',
              'record beside the old one and wait for the old TTL to pass; only then present the new certificate.',
            ]),
      );
      if (p.acme) {
        const rollover = (await session.call('acme-status', {})).find((r) => r.name === p.name)?.rollover;
        io.print(rollover ? `TLSA rollover: ${rolloverText(rollover)}` : 'TLSA rollover: none under way.');
      }
      return;
    }
    case 'delete': {
      const p = profile(session, required(command, name, 'NAME'));
      session.draft = deleteCertificate(session.draft, p.name);
      io.print(`Certificate profile ${p.name} deleted.`);
      return;
    }
    default:
      throw new CommandError(`Unknown operation "${verb}".\nUsage: ${command.usage.join('\n       ')}`);
  }
}

export async function certauthorityBatch(session: Session, command: Command, args: string[]): Promise<void> {
  const [list, op, ...rest] = args.map((a, i) => (i < 2 ? a.toLowerCase() : a));
  const { values, positionals } = parseOptions(command, rest, { file: { type: 'string' }, 'fqdn-check': { type: 'boolean' } });
  noMoreWords(command, positionals.slice((list === 'custom' && op === 'delete') || op === 'print' || op === 'export' ? 1 : 0));
  const io = session.io;
  if (list !== 'system' && list !== 'custom') throw new CommandError('certconfig certauthority needs "system" or "custom".');
  if (op === 'enable' || op === 'disable') {
    session.draft = setCaListEnabled(session.draft, list, op === 'enable');
    io.print(`${list === 'system' ? 'System' : 'Custom'} List: ${op === 'enable' ? 'Enabled' : 'Disabled'} (after "commit").`);
    return;
  }
  if (list === 'system' && op === 'update') {
    const name = required(command, values.file, '--file');
    const text = (await readConfigFile(session, name, { absolute: true })).toString('utf8');
    const r = await io.spin('Loading the bundle', updateSystemCas(session, text, name));
    io.print(`System list: ${r.count} CA certificates, SHA-256 ${r.sha256}${r.skipped ? ` (${r.skipped} non-CA certificates skipped)` : ''}; in use after "commit".`);
    return;
  }
  const certs = await caList(session, list);
  if ((op === 'print' || op === 'export') && positionals[0] !== undefined) {
    // One CA: its details, or that certificate alone to a file (the appliance's CA page does both).
    const n = caNumber(certs, positionals[0], list);
    const pem = certs[n - 1]!;
    if (op === 'export') {
      const file = await writeConfigFile(session, required(command, values.file, '--file'), pem);
      io.print(`Certificate ${n} of the ${list} list (${certInfo(pem).subject}) exported to ${file}.`);
      return;
    }
    io.print(...caDetails(pem, n));
    return;
  }
  if (op === 'print') {
    io.print(`${list === 'system' ? 'System' : 'Custom'} List: ${session.draft.certificateAuthorities[list].enabled ? 'Enabled' : 'Disabled'}, ${certs.length} certificate(s)`);
    if (list === 'system') io.print(`Version: ${systemListVersion(session.draft)}`);
    await io.page(certs.map((c, i) => `${i + 1}. ${certInfo(c).subject}`));
    return;
  }
  if (op === 'export') {
    const file = await writeConfigFile(session, required(command, values.file, '--file'), certs.join(''));
    io.print(`${certs.length} certificate(s) exported to ${file}.`);
    return;
  }
  if (list === 'custom' && op === 'import') {
    const bundle = (await readConfigFile(session, required(command, values.file, '--file'))).toString('utf8');
    const result = importCustomCas(session, bundle, Boolean(values['fqdn-check']));
    for (const r of result.rejected) io.print(`Rejected: ${r.subject}: ${r.reason}`);
    io.print(`${result.added.length} certificate(s) added to the custom list, ${result.rejected.length} rejected.`);
    if (result.added.length === 0) throw new CommandError('No certificate was imported.');
    await offerCustomList(session);
    return;
  }
  if (list === 'custom' && op === 'delete') {
    const n = caNumber(certs, positionals[0], list);
    const subject = certInfo(certs[n - 1]!).subject;
    session.draft = setCustomCas(session.draft, certs.filter((_, i) => i !== n - 1));
    io.print(`Deleted from the custom list: ${subject}`);
    return;
  }
  throw new CommandError(`Unknown operation "${op ?? ''}" for the ${list} list.\nUsage: ${command.usage.filter((u) => u.includes('certauthority')).join('\n       ')}`);
}

/**
 * A profile in use whose key the command replaced: peers that pinned the old key by DANE (3 1 1)
 * would refuse the new one, so the records must be rolled before the commit.
 */
function warnKeyChanges(session: Session, keysBefore: Map<string, string>): void {
  for (const c of session.draft.certificates) {
    const before = keysBefore.get(c.name.toLowerCase());
    const users = certificateUsers(session.draft, c.name);
    if (before === undefined || before === c.keyRef || users.length === 0) continue;
    session.io.warn(
      `The key of certificate profile ${c.name} changes (used by: ${users.join(', ')}). If TLSA records are published for it, publish the new ones ("certconfig tlsa ${c.name}") beside the old ones and wait for their TTL before you commit.`,
    );
  }
}

/** The whole command, loaded on first use (the PKI libraries take a moment to load). */
export async function runCertconfig(session: Session, command: Command, args: string[]): Promise<void> {
  const keysBefore = new Map(session.draft.certificates.map((c) => [c.name.toLowerCase(), c.keyRef]));
  if (args.length === 0) {
    printDemoWarning(session);
    try {
      await session.io.menuLoop(() => undefined, [
        { keyword: 'CERTIFICATE', text: 'Import, Create a request, Edit or Remove Certificate Profiles', run: () => certificateDialog(session) },
        { keyword: 'CERTAUTHORITY', text: 'Manage System and Customized Authorities', run: () => certauthorityDialog(session) },
      ]);
    } finally {
      warnKeyChanges(session, keysBefore);
    }
    return;
  }
  const verb = args[0]!.toLowerCase();
  if (verb === 'certauthority') return certauthorityBatch(session, command, args.slice(1));
  await batch(session, command, verb, args.slice(1));
  if (['new', 'paste', 'import'].includes(verb)) printDemoWarning(session);
  warnKeyChanges(session, keysBefore);
}

/**
 * --overwrite of a profile that listeners, HTTPS or outbound TLS use: at a terminal, asked first;
 * in a script, said (the option asked for it). False when the administrator said no.
 */
async function replacingInUse(session: Session, name: string, overwrite: boolean | undefined, what: string): Promise<boolean> {
  const existing = session.draft.certificates.find((c) => c.name.toLowerCase() === name.toLowerCase());
  if (!overwrite || !existing) return true;
  const users = certificateUsers(session.draft, existing.name);
  if (users.length === 0) return true;
  const text = `Certificate profile ${existing.name} is used by ${users.join(', ')}; --overwrite replaces its certificate and key with ${what} there once committed.`;
  if (!session.io.interactive) {
    session.io.warn(text);
    return true;
  }
  session.io.print(text);
  if (await session.io.confirm('Replace it?', false)) return true;
  session.io.print(`Certificate profile ${existing.name} was left as it is.`);
  return false;
}

/** The number of one certificate of a CA list (1-based), as "certconfig certauthority LIST print" numbers them. */
function caNumber(certs: readonly string[], word: string | undefined, list: 'system' | 'custom'): number {
  if (!certs.length) throw new CommandError(`The ${list} list is empty.`);
  const n = Number(word);
  if (!Number.isInteger(n) || n < 1 || n > certs.length) throw new CommandError(`Give the number of a certificate of the ${list} list (1-${certs.length}); "certconfig certauthority ${list} print" lists them.`);
  return n;
}
