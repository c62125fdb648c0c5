import { certInfo } from '../../pki/certificate.js';
import { parseAuthorizedKey } from '../../pki/sshKeys.js';
import type { User } from '../accounts/schema.js';
import { presentedProfile } from '../certificates/certificates.js';
import type { Destination, DestinationDefaults } from '../destinations/destinations.js';
import type { CertificateProfile, Config, Interface, Listener } from '../schema.js';
import { findInterface } from '../network/interfaces.js';
import { shortList } from '../text.js';
import { label, valueText } from './words.js';

/** One object of the configuration in one line, as showconfig lists it and showchanges says it was added. */

const day = (d: Date) => d.toISOString().slice(0, 10);

/** What identifies a certificate to an administrator: its name, issuer, fingerprint and end. */
export function certificateText(pem: string): string {
  try {
    const i = certInfo(pem);
    const issuer = i.selfSigned ? 'self-signed' : `issued by ${i.issuerCommonName}`;
    return `CN ${i.commonName || '(none)'}, ${issuer}, SHA-256 fingerprint ${i.fingerprint256}, expires ${day(i.notAfter)}${i.status === 'valid' ? '' : ` (${i.status})`}`;
  } catch {
    return 'a certificate that cannot be read';
  }
}

export function profileText(p: CertificateProfile): string {
  const parts = [certificateText(p.certificate)];
  if (p.intermediates.length) parts.push(`${p.intermediates.length} intermediate${p.intermediates.length === 1 ? '' : 's'}`);
  if (p.demo) parts.push('demonstration certificate');
  if (p.csr) parts.push('signing request pending');
  if (p.acme) parts.push(`renewed by ACME (${p.acme.challenge}${p.acme.dane ? `, DANE TLSA on port ${p.acme.dane.port}` : ''})`);
  return parts.join(', ');
}

/** The certificate a service presents, by profile name ("Demo" when it names none and the demo one is there). */
export function presentedText(config: Config, name: string | null): string {
  if (name !== null) return name;
  const demo = presentedProfile(config, null);
  return demo ? `${demo.name} (demonstration certificate)` : 'none';
}

export function listenerText(config: Config, l: Listener): string {
  const iface = findInterface(config, l.interface);
  const parts = [
    `${l.type === 'public' ? 'Public' : 'Private'} on ${l.interface} (${iface?.ip ?? 'no such interface'}) port ${l.port}`,
    `TLS ${valueText('tls', l.hat.defaults.tls)}`,
    `certificate ${presentedText(config, l.certificate)}`,
  ];
  if (l.type === 'public') parts.push(l.rcptAccess.length ? `accepts mail for ${shortList(l.rcptAccess)}` : 'accepts mail for no domain');
  const relay = l.hat.senderGroups.find((g) => g.name === 'RELAYLIST');
  if (l.type === 'private' && relay) parts.push(relay.patterns.length ? `relays for ${shortList(relay.patterns)}` : 'relays for no host');
  return parts.join(', ');
}

/** A destination entry: what it sets itself (the rest comes from the default entry). */
export function destinationText(d: Partial<DestinationDefaults> & Partial<Destination>): string {
  const parts = Object.entries(d)
    .filter(([k, v]) => k !== 'domain' && v !== undefined)
    .map(([k, v]) => `${label(k)} ${valueText(k, v)}`);
  return parts.length ? parts.join(', ') : 'everything from the default entry';
}

/** The services an interface offers besides SMTP listeners. */
export function servicesText(config: Config, i: Interface): string[] {
  const out: string[] = [];
  if (i.https) out.push(`HTTPS ${httpsText(config, i.https)}`);
  if (i.ssh) out.push(`SSH on port ${i.ssh.port}`);
  if (i.acmeHttp !== undefined) out.push(`ACME HTTP-01 on port ${i.acmeHttp}`);
  return out;
}

export function httpsText(config: Config, h: NonNullable<Interface['https']>): string {
  return `on port ${h.port} with ${presentedText(config, h.certificate)}${h.httpRedirect === null ? '' : `, HTTP ${h.httpRedirect} redirects to it`}`;
}

export function interfaceText(config: Config, i: Interface): string {
  return [`${i.ip}${i.hostname ? ` (${i.hostname})` : ''}`, ...servicesText(config, i)].join(', ');
}

export function sshKeyText(line: string): string {
  try {
    const k = parseAuthorizedKey(line);
    return `${k.type} ${k.fingerprint}${k.comment ? ` (${k.comment})` : ''}`;
  } catch {
    return line.slice(0, 40);
  }
}

export function userText(u: User): string {
  const keys = u.sshKeys?.length ?? 0;
  return `${u.role}, password set${keys ? `, ${keys} SSH key${keys === 1 ? '' : 's'}` : ''}`;
}
