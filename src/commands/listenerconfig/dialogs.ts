import { currentCertificateIndex } from '../../store/certificates/certificates.js';
import { certInfo } from '../../pki/certificate.js';
import { InvalidAnswer } from '../../shell/io.js';
import type { Session } from '../../shell/session.js';
import { LIMITS, senderPatternProblem } from '../../store/grammar.js';
import { checkRcptDomain } from '../../store/answers.js';
import type { PolicyParameters, TlsLevel } from '../../store/listeners/hat.js';
import { formatHat, parseHat } from '../../store/listeners/hatText.js';
import { findInterface } from '../../store/network/interfaces.js';
import { findListener } from '../../store/listeners/listeners.js';
import {
  addGroupPattern,
  addRcptDomain,
  moveSenderGroup,
  removeGroupPattern,
  removeRcptDomain,
  setHat,
  setHatDefaults,
  setLimits,
  setListenerCertificate,
  setPolicy,
  usesDemoCertificate,
} from '../../store/listeners/policy.js';
import type { Config, Listener } from '../../store/schema.js';
import { readConfigFile, writeConfigFile } from '../files.js';
import { printRcptAccess, warnIfDemoTls } from './policy.js';

/** listenerconfig → EDIT → CERTIFICATE / HOSTACCESS / RCPTACCESS / LIMITS, and the summary. */

const TLS_LABEL: Record<TlsLevel, string> = { off: 'No', preferred: 'Preferred', required: 'Required' };

/** The listener summary, as the appliance prints it after EDIT. */
export function listenerSummary(config: Config, l: Listener): string[] {
  const iface = findInterface(config, l.interface);
  const cert = l.certificate ?? (usesDemoCertificate(config, l) ? 'Demo (demonstration certificate, not secure)' : 'none');
  return [
    `Name: ${l.name}`,
    `Type: ${l.type === 'public' ? 'Public' : 'Private'}`,
    `Interface: ${l.interface} (${iface?.ip ?? '?'}) TCP Port ${l.port}`,
    'Protocol: SMTP',
    'Default Domain:',
    `Max Concurrency: ${l.limits.maxConcurrency} (TCP Queue: ${l.limits.tcpQueue})`,
    'Domain Map: Disabled',
    `TLS: ${TLS_LABEL[l.hat.defaults.tls]}`,
    `Certificate: ${cert}`,
    `Timeouts: ${l.limits.commandTimeout} s per command, ${l.limits.dataTimeout} s per message (DATA), ${l.limits.sessionTimeout} s per session`,
  ];
}

const listener = (session: Session, name: string) => findListener(session.draft, name)!;

/** A certificate profile from the numbered list; Enter keeps `current` (none set: the demonstration one). */
export function chooseCertificate(session: Session, question: string, current: string | null): Promise<string> {
  return session.io.choose(
    question,
    session.draft.certificates.map((c) => ({ label: `${c.name} (${certInfo(c.certificate).commonName})${c.demo ? ' - demonstration certificate' : ''}`, value: c.name })),
    currentCertificateIndex(session.draft, current),
  );
}

export async function certificateDialog(session: Session, name: string): Promise<void> {
  const io = session.io;
  const chosen = await chooseCertificate(session, 'Please choose a certificate profile for this listener.', listener(session, name).certificate);
  const demo = session.draft.certificates.find((c) => c.name === chosen)?.demo;
  if (chosen === listener(session, name).certificate) return;
  if (demo && !(await io.confirm('You may use the demo certificate to test TLS, but this will not be secure. Do you really wish to use the "Demo" certificate?', false))) return;
  session.draft = setListenerCertificate(session.draft, name, chosen);
}

const askTls = (session: Session, current: TlsLevel) =>
  session.io.choose<TlsLevel>(
    'Do you want to allow encrypted TLS connections?',
    [
      { label: 'No', value: 'off' },
      { label: 'Preferred', value: 'preferred' },
      { label: 'Required', value: 'required' },
    ],
    current === 'off' ? 1 : current === 'preferred' ? 2 : 3,
  );

async function askParameters(session: Session, current: PolicyParameters): Promise<PolicyParameters> {
  const io = session.io;
  const maxMessageSize = await io.askInt('Enter the maximum message size (in bytes).', { default: current.maxMessageSize, ...LIMITS.maxMessageSize });
  const maxConcurrency = await io.askInt('Enter the maximum number of concurrent connections allowed from a single IP address.', { default: current.maxConcurrency, ...LIMITS.maxConcurrency });
  const maxMessagesPerConnection = await io.askInt('Enter the maximum number of messages per connection.', { default: current.maxMessagesPerConnection, ...LIMITS.maxMessagesPerConnection });
  const maxRecipientsPerMessage = await io.askInt('Enter the maximum number of recipients per message.', { default: current.maxRecipientsPerMessage, ...LIMITS.maxRecipientsPerMessage });
  const tls = await askTls(session, current.tls);
  if (tls !== 'off') io.print("You have chosen to enable TLS. Please use the 'certconfig' command to ensure that there is a valid certificate configured.");
  // RFC 8689: only a TLS session can offer REQUIRETLS, so the question follows TLS.
  const requireTls = tls === 'off' ? current.requireTls : await io.confirm('Would you like to offer REQUIRETLS (RFC 8689: the sender may demand TLS all the way) after STARTTLS?', current.requireTls);
  // Bounce verification (bvconfig): the appliance asks this last among the envelope questions.
  const acceptUntaggedBounces = await io.confirm('Would you like to accept untagged bounces?', current.acceptUntaggedBounces);
  return { maxMessageSize, maxConcurrency, maxMessagesPerConnection, maxRecipientsPerMessage, tls, requireTls, acceptUntaggedBounces };
}

const checkPattern = (s: string) => {
  const problem = senderPatternProblem(s);
  if (problem) throw new InvalidAnswer(problem);
  return s;
};

export function hostaccessDialog(session: Session, name: string): Promise<void> {
  const io = session.io;
  const hat = () => listener(session, name).hat;
  const pickGroup = (q: string) => io.choose(q, hat().senderGroups.map((g) => ({ label: `${g.name} (${g.patterns.join(', ') || 'empty'}) → $${g.policy}`, value: g.name })));
  const pickPolicy = (q: string) => io.choose(q, hat().policies.map((p) => ({ label: `$${p.name} (${p.action.toUpperCase()})`, value: p.name })));
  return io.menuLoop(
    () => io.print('', `There are currently ${hat().policies.length} policies defined.`, `There are currently ${hat().senderGroups.length} sender groups.`),
    [
      {
        keyword: 'NEW',
        text: 'Create a new entry.',
        run: async () => {
          const group = await io.ask('Enter the name of the sender group (an existing one, or a new one):', { default: 'ALLOWLIST' });
          const pattern = await io.ask('Enter the IP address, CIDR range, hostname or .domain to add:', { validate: checkPattern });
          const exists = hat().senderGroups.some((g) => g.name.toLowerCase() === group.toLowerCase());
          const policy = exists ? undefined : await pickPolicy('Select the policy for the new sender group.');
          session.draft = addGroupPattern(session.draft, name, group, pattern, policy);
        },
      },
      {
        keyword: 'EDIT',
        text: 'Modify an entry.',
        run: async () => {
          const policyName = await pickPolicy('Select the policy you wish to edit.');
          const p = hat().policies.find((x) => x.name === policyName)!;
          const action = await io.choose('Select the action of this policy.', [
            { label: 'ACCEPT', value: 'accept' as const },
            { label: 'RELAY', value: 'relay' as const },
            { label: 'REJECT', value: 'reject' as const },
          ], p.action === 'accept' ? 1 : p.action === 'relay' ? 2 : 3);
          const params = action === 'reject' ? {} : await askParameters(session, { ...hat().defaults, ...Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) } as PolicyParameters);
          session.draft = setPolicy(session.draft, name, policyName, { action, ...params });
          warnIfDemoTls(session, name);
        },
      },
      {
        keyword: 'DELETE',
        text: 'Remove an entry.',
        run: async () => {
          const group = await pickGroup('Select the sender group to remove an entry from.');
          const g = hat().senderGroups.find((x) => x.name === group)!;
          if (!g.patterns.length) return io.print(`Sender group ${group} has no entries.`);
          const pattern = await io.choose('Select the entry to remove.', g.patterns.map((p) => ({ label: p, value: p })));
          session.draft = removeGroupPattern(session.draft, name, group, pattern);
        },
      },
      {
        keyword: 'MOVE',
        text: 'Move an entry.',
        run: async () => {
          const group = await pickGroup('Select the sender group to move.');
          const groups = hat().senderGroups;
          const to = await io.askInt(`Enter the new position (1-${groups.length}).`, { min: 1, max: groups.length });
          session.draft = moveSenderGroup(session.draft, name, group, to);
        },
      },
      {
        keyword: 'DEFAULT',
        text: 'Set the defaults.',
        run: async () => {
          session.draft = setHatDefaults(session.draft, name, await askParameters(session, hat().defaults));
          warnIfDemoTls(session, name);
        },
      },
      { keyword: 'PRINT', text: 'Display the table.', run: async () => io.print(...formatHat(hat())) },
      {
        keyword: 'IMPORT',
        text: 'Import a table from a file.',
        run: async () => {
          const file = await io.ask('Enter the name of the file to import:');
          session.draft = setHat(session.draft, name, parseHat((await readConfigFile(session, file)).toString('utf8')));
          io.print('The table was imported.');
          warnIfDemoTls(session, name);
        },
      },
      {
        keyword: 'EXPORT',
        text: 'Export the table to a file.',
        run: async () => {
          const file = await writeConfigFile(session, await io.ask('Enter a name for the exported file:', { default: `${name}-hat.txt` }), formatHat(hat()).join('\n') + '\n');
          io.print(`The table was exported to ${file}.`);
        },
      },
      {
        keyword: 'CLEAR',
        text: 'Remove all entries.',
        run: async () => {
          if (!(await io.confirm('Are you sure you want to remove all sender group entries (the ALL group stays)?', false))) return;
          const next = structuredClone(hat());
          for (const g of next.senderGroups) g.patterns = g.name === 'ALL' ? ['ALL'] : [];
          session.draft = setHat(session.draft, name, next);
        },
      },
    ],
  );
}

export function rcptaccessDialog(session: Session, name: string): Promise<void> {
  const io = session.io;
  return io.menuLoop(
    () => printRcptAccess(session, listener(session, name)),
    [
      {
        keyword: 'NEW',
        text: 'Accept mail for a domain.',
        run: async () => {
          const domain = await io.ask('Enter the domain (or .domain for its subdomains, or ALL):', {
            validate: checkRcptDomain,
          });
          session.draft = addRcptDomain(session.draft, name, domain);
        },
      },
      {
        keyword: 'DELETE',
        text: 'Stop accepting mail for a domain.',
        run: async () => {
          const list = listener(session, name).rcptAccess;
          if (!list.length) return io.print('The table is empty.');
          session.draft = removeRcptDomain(session.draft, name, await io.choose('Select the domain to remove.', list.map((d) => ({ label: d, value: d }))));
        },
      },
    ],
  );
}

export async function limitsDialog(session: Session, name: string): Promise<void> {
  const l = listener(session, name);
  const maxConcurrency = await session.io.askInt('Enter the maximum number of concurrent connections for this listener.', { default: l.limits.maxConcurrency, min: 1, max: 100000 });
  const tcpQueue = await session.io.askInt('Enter the maximum length of the TCP queue.', { default: l.limits.tcpQueue, min: 1, max: 65535 });
  const commandTimeout = await session.io.askInt('Enter the time a client has to complete each command, in seconds.', { default: l.limits.commandTimeout, min: 1, max: 3600 });
  const dataTimeout = await session.io.askInt('Enter the time a client has to transfer a message (DATA), in seconds.', { default: l.limits.dataTimeout, min: 1, max: 7200 });
  const sessionTimeout = await session.io.askInt('Enter the total time limit of a session, in seconds.', { default: l.limits.sessionTimeout, min: 1, max: 86400 });
  session.draft = setLimits(session.draft, name, { maxConcurrency, tcpQueue, commandTimeout, dataTimeout, sessionTimeout });
}
