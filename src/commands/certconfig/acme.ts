import { certInfo } from '../../pki/certificate.js';
import { createKey } from '../../pki/generate.js';
import { type Command, noMoreWords, parseOptions, required } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import type { Session } from '../../shell/session.js';
import { type AcmeSettings, checkAcmeDirectory, checkAcmeEmail, checkAcmeNames, putAcmeProfile, dueText, renewalDue, rolloverText, setAcmeAccount, setAcmeDane, setAcmeSettings } from '../../store/certificates/acme.js';
import { updateServerFor } from '../../store/network/updateServers.js';
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
    case 'dane':
      return dane(session, command, rest);
    case 'settings':
      return settings(session, command, rest);
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

/**
 * The engine renews what is committed, and puts the result in service itself (a new version):
 * with a new key and DANE, only after the TLSA rollover (certconfig acme status shows its steps).
 */
async function renew(session: Session, name: string): Promise<void> {
  const p = findCertificate(session.draft, name);
  if (!p) throw new CommandError(`No certificate profile named "${name}".`);
  if (!p.acme) throw new CommandError(`Certificate profile "${p.name}" was not issued by ACME: "certconfig acme new ${p.name} --names … --overwrite" makes it an ACME profile.`);
  const committed = findCertificate(session.committed, p.name);
  if (JSON.stringify(committed) !== JSON.stringify(p)) throw new CommandError(`Certificate profile "${p.name}" has changes that are not committed: commit them (or "clearchanges") first; the engine renews the committed profile.`);
  const { line } = await session.io.spin(`Renewing ${p.name}`, session.call('acme-renew', { name: p.name }));
  session.io.print(line);
}

async function dane(session: Session, command: Command, args: string[]): Promise<void> {
  const { values, positionals } = parseOptions(command, args, { port: { type: 'string' }, issuer: { type: 'boolean' }, ttl: { type: 'string' } });
  const [name, ...extra] = positionals;
  noMoreWords(command, extra);
  const p = findCertificate(session.draft, required(command, name, 'NAME'));
  if (!p?.acme) throw new CommandError(`"${name}" is not an ACME certificate profile (certconfig acme status lists them).`);
  const portText = required(command, values.port, '--port');
  if (portText.toLowerCase() === 'none') {
    session.draft = setAcmeDane(session.draft, p.name, undefined);
    session.io.print(`Certificate profile ${p.name}: its TLSA records are no longer kept (after "commit"); records already published stay until you remove them.`);
    return;
  }
  const port = Number(portText);
  const ttl = values.ttl === undefined ? 300 : Number(values.ttl);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new CommandError(`--port must be 1-65535 or none, not "${portText}".`);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 86_400) throw new CommandError(`--ttl must be 1-86400 seconds, not "${values.ttl}".`);
  const missing = p.acme.names.filter((n) => !updateServerFor(session.draft.dns.updateServers, `_${port}._tcp.${n}`));
  if (missing.length) throw new CommandError(`No update server takes records for ${missing.join(', ')}: add one with "dnsconfig update-server ZONE ADDR --tsig-key-file FILE" first.`);
  session.draft = setAcmeDane(session.draft, p.name, { port, issuer: Boolean(values.issuer), ttl });
  session.io.print(`Certificate profile ${p.name}: TLSA 3 1 1${values.issuer ? ' and 2 1 1' : ''} records at ${p.acme.names.map((n) => `_${port}._tcp.${n}`).join(', ')} (TTL ${ttl}) are rolled over before a new key goes in service (after "commit").`);
}

async function settings(session: Session, command: Command, args: string[]): Promise<void> {
  const { values, positionals } = parseOptions(command, args, { 'retry-minutes': { type: 'string' }, 'alert-after': { type: 'string' } });
  noMoreWords(command, positionals);
  const changes: { retryMinutes?: number; alertAfter?: number } = {};
  if (values['retry-minutes'] !== undefined) changes.retryMinutes = Number(values['retry-minutes']);
  if (values['alert-after'] !== undefined) changes.alertAfter = Number(values['alert-after']);
  if (!Object.keys(changes).length) throw new CommandError('Give --retry-minutes N (1-1440) and/or --alert-after N (1-100).');
  session.draft = setAcmeSettings(session.draft, changes);
  const a = session.draft.acme;
  session.io.print(`A failed renewal is tried again after ${a.retryMinutes} minutes (doubling, at most a day); a System alert after ${a.alertAfter} failures in a row (after "commit").`);
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

async function status(session: Session): Promise<void> {
  const { account } = session.draft.acme;
  const lines = [account ? `ACME account: ${account.url} at ${account.directory} (${account.email})` : 'ACME account: none ("certconfig acme account new" registers one)'];
  const profiles = session.draft.certificates.filter((c) => c.acme);
  if (!profiles.length) lines.push('No certificate profile is issued by ACME.');
  const engine = profiles.length ? await session.call('acme-status', {}) : [];
  for (const p of profiles) {
    const info = certInfo(p.certificate);
    const a = p.acme!;
    const s = engine.find((e) => e.name === p.name);
    lines.push(
      `${p.name}: ${a.names.join(', ')}; ${a.challenge}, ${a.key}${a.reuseKey ? ', key kept at renewal' : ', new key at renewal'}${a.dane ? `; TLSA at port ${a.dane.port}${a.dane.issuer ? ' with 2 1 1' : ''}, TTL ${a.dane.ttl}` : ''}`,
      `  valid until ${info.notAfter.toISOString()} (${info.daysRemaining} days); renewal due ${dueText(s ?? { due: renewalDue(p.certificate).toISOString(), dueBy: 'lifetime' })}`,
    );
    if (s?.failures) lines.push(`  ${s.failures} failed attempt(s), the last: ${s.lastError}; next attempt at ${s.nextAttemptAt}`);
    if (s?.rollover) lines.push(`  TLSA rollover: ${rolloverText(s.rollover)}`);
    if (s?.renewedHere !== undefined) lines.push(s.renewedHere ? '  renewed automatically by this machine for the cluster members that share the profile' : '  renewed automatically by another member of the cluster (the first one up that shares the profile)');
  }
  session.io.print(...lines);
}
