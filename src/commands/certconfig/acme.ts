import { certInfo } from '../../pki/certificate.js';
import { createKey } from '../../pki/generate.js';
import { type Command, noMoreWords, parseOptions, required } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import type { Session } from '../../shell/session.js';
import { type AcmeSettings, checkAcmeDirectory, checkAcmeEmail, checkAcmeNames, putAcmeProfile, renewAcmeProfile, renewalDue, setAcmeAccount } from '../../store/certificates/acme.js';
import { findCertificate } from '../../store/certificates/certificates.js';
import { storeKey } from '../../store/certificates/keys.js';
import { checkName } from '../../store/answers.js';
import { readConfigFile } from '../files.js';

/**
 * certconfig acme: certificates from an ACME CA (RFC 8555). The engine talks to the CA (its CA
 * lists check the CA's HTTPS certificate; its responder answers HTTP-01; DNS-01 records go to the
 * zone's update server); the shell stages the result like any other profile change: "commit" puts it
 * in service, "clearchanges" forgets it.
 */
export async function runAcme(session: Session, command: Command, args: string[]): Promise<void> {
  const [verb, ...rest] = args;
  switch (verb?.toLowerCase()) {
    case 'account':
      return account(session, command, rest);
    case 'new':
      return order(session, command, rest);
    case 'renew': {
      const [name, ...extra] = rest;
      noMoreWords(command, extra);
      return renew(session, required(command, name, 'NAME'));
    }
    case 'status':
      noMoreWords(command, rest);
      return status(session);
    default:
      throw new CommandError(`Usage: ${command.usage.filter((u) => u.includes(' acme ')).join('\n       ')}`);
  }
}

async function account(session: Session, command: Command, args: string[]): Promise<void> {
  const { values, positionals } = parseOptions(command, args, {
    directory: { type: 'string' },
    email: { type: 'string' },
    'agree-tos': { type: 'boolean' },
    'eab-kid': { type: 'string' },
    'eab-hmac-key-file': { type: 'string' },
  });
  if (positionals[0]?.toLowerCase() !== 'new' || positionals.length > 1) throw new CommandError('Usage: certconfig acme account new --directory URL --email ADDR --agree-tos [--eab-kid KID --eab-hmac-key-file FILE]');
  const directory = checkAcmeDirectory(required(command, values.directory, '--directory'));
  const email = checkAcmeEmail(required(command, values.email, '--email'));
  if (!values['agree-tos']) throw new CommandError('An ACME account needs the CA\'s terms of service accepted: read them (the directory\'s meta.termsOfService) and add --agree-tos.');
  if (Boolean(values['eab-kid']) !== Boolean(values['eab-hmac-key-file'])) throw new CommandError('External Account Binding needs both --eab-kid KID and --eab-hmac-key-file FILE (the CA gives both).');
  const externalAccountBinding = values['eab-kid'] ? { kid: values['eab-kid'], hmacKey: (await readConfigFile(session, values['eab-hmac-key-file']!)).toString('utf8').trim() } : undefined;
  const { url, keyRef } = await session.io.spin('Registering the account', session.call('acme-account', { directory, email, ...(externalAccountBinding ? { externalAccountBinding } : {}) }));
  session.draft = setAcmeAccount(session.draft, { directory, email, keyRef, url });
  session.io.print(`ACME account registered at ${directory} for ${email}: ${url} (after "commit" renewals use it).`);
}

async function order(session: Session, command: Command, args: string[]): Promise<void> {
  const { values, positionals } = parseOptions(command, args, {
    names: { type: 'string' },
    key: { type: 'string' },
    challenge: { type: 'string' },
    'reuse-key': { type: 'boolean' },
    overwrite: { type: 'boolean' },
  });
  const [rawName, ...extra] = positionals;
  noMoreWords(command, extra);
  const name = checkName(required(command, rawName, 'NAME'));
  const names = checkAcmeNames(required(command, values.names, '--names'));
  const key = (values.key ?? 'ecdsa-p256').toLowerCase();
  if (key !== 'ecdsa-p256' && key !== 'rsa2048') throw new CommandError(`--key must be ecdsa-p256 or rsa2048, not "${values.key}".`);
  const challenge = (values.challenge ?? 'http-01').toLowerCase();
  if (challenge !== 'http-01' && challenge !== 'dns-01') throw new CommandError(`--challenge must be http-01 or dns-01, not "${values.challenge}".`);
  const existing = findCertificate(session.draft, name);
  if (existing && !values.overwrite) throw new CommandError(`Certificate profile "${existing.name}" already exists: "certconfig acme renew ${existing.name}" renews it, --overwrite replaces it.`);
  const settings: AcmeSettings = { names, key, challenge, reuseKey: Boolean(values['reuse-key']) };
  // Replacing a profile with --reuse-key keeps its key (its TLSA records stay right).
  const keyRef = existing && settings.reuseKey ? existing.keyRef : await storeKey(session.paths, await session.io.spin('Generating the key', createKey(key)));
  const issued = await orderFor(session, names, challenge, keyRef);
  session.draft = putAcmeProfile(session.draft, { name: existing?.name ?? name, ...issued, keyRef, acme: settings }, Boolean(existing));
  session.io.print(`Certificate profile ${existing?.name ?? name} issued for ${names.join(', ')}, valid until ${issued.notAfter} (after "commit").`);
}

async function renew(session: Session, name: string): Promise<void> {
  const p = findCertificate(session.draft, name);
  if (!p) throw new CommandError(`No certificate profile named "${name}".`);
  if (!p.acme) throw new CommandError(`Certificate profile "${p.name}" was not issued by ACME: "certconfig acme new ${p.name} --names … --overwrite" makes it an ACME profile.`);
  const keyRef = p.acme.reuseKey ? p.keyRef : await storeKey(session.paths, await session.io.spin('Generating the key', createKey(p.acme.key)));
  const issued = await orderFor(session, p.acme.names, p.acme.challenge, keyRef);
  session.draft = renewAcmeProfile(session.draft, p.name, { ...issued, keyRef });
  session.io.print(`Certificate profile ${p.name} renewed${p.acme.reuseKey ? ' with the same key' : ' with a new key'}, valid until ${issued.notAfter} (after "commit").`);
}

async function orderFor(session: Session, names: string[], challenge: 'http-01' | 'dns-01', keyRef: string) {
  const account = session.draft.acme.account;
  if (!account) throw new CommandError('There is no ACME account yet: "certconfig acme account new --directory URL --email ADDR --agree-tos" registers one.');
  const { certificate, intermediates, notAfter } = await session.io.spin(
    `Ordering the certificate for ${names.join(', ')}`,
    session.call('acme-order', { account: { directory: account.directory, url: account.url, keyRef: account.keyRef }, names, challenge, keyRef, updateServers: session.draft.dns.updateServers }),
  );
  return { certificate, intermediates, notAfter };
}

function status(session: Session): void {
  const { account } = session.draft.acme;
  const lines = [account ? `ACME account: ${account.url} at ${account.directory} (${account.email})` : 'ACME account: none ("certconfig acme account new" registers one)'];
  const profiles = session.draft.certificates.filter((c) => c.acme);
  if (!profiles.length) lines.push('No certificate profile is issued by ACME.');
  for (const p of profiles) {
    const info = certInfo(p.certificate);
    lines.push(
      `${p.name}: ${p.acme!.names.join(', ')}; ${p.acme!.challenge}, ${p.acme!.key}${p.acme!.reuseKey ? ', key kept at renewal' : ', new key at renewal'}`,
      `  valid until ${info.notAfter.toISOString()} (${info.daysRemaining} days); renewal due ${renewalDue(p.certificate).toISOString()}`,
    );
  }
  session.io.print(...lines);
}
