import { type Command, parseOptions, required, takeWords } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { InvalidAnswer } from '../../shell/io.js';
import type { Session } from '../../shell/session.js';
import {
  addListener,
  deleteListener,
  describeListener,
  describeWorkers,
  editListener,
  findListener,
  type ListenerSpec,
  parseListenerType,
  parsePort,
  parseWorkers,
  setWorkers,
} from '../../store/listeners/listeners.js';
import { type Config, type Interface, type Listener } from '../../store/schema.js';
import { checkName, checkRcptDomain } from '../../store/answers.js';
import { type FirstSteps, listAnswer, withFirstSteps } from '../../store/listeners/firstSteps.js';
import { senderPatternProblem } from '../../store/grammar.js';
import { presentedProfile } from '../../store/certificates/certificates.js';
import { certificateDialog, chooseCertificate, hostaccessDialog, limitsDialog, listenerSummary, rcptaccessDialog } from './dialogs.js';
import { EDIT_KEYWORDS, EDIT_USAGE, editPolicyBatch } from './policy.js';

function printList(session: Session): void {
  const { draft } = session;
  if (draft.listeners.length === 0) {
    session.io.print('', 'No listeners are configured.');
    return;
  }
  session.io.print('', 'Currently configured listeners:');
  draft.listeners.forEach((l, n) => session.io.print(`${n + 1}. ${describeListener(draft, l)}`));
}

function checkNewName(config: Config, value: string, except?: string): string {
  checkName(value);
  const other = findListener(config, value);
  if (other && other.name.toLowerCase() !== except?.toLowerCase()) throw new InvalidAnswer(`A listener named "${value}" already exists.`);
  return value;
}

const chooseInterface = (session: Session, current?: string) => {
  const list = session.draft.interfaces;
  const index = current ? list.findIndex((i) => i.name === current) + 1 : 1;
  return session.io.choose<Interface>(
    'Please choose an IP interface for this Listener.',
    list.map((i) => ({ label: `${i.name} (${i.ip}/${i.hostname ?? session.draft.hostname})`, value: i })),
    Math.max(index, 1),
  );
};

/**
 * Ask for the port; the answer is checked by trying the whole edit, so a port another listener
 * uses on the same address is refused here, with the reason, and asked again.
 */
const askPort = (session: Session, attempt: (port: number) => Config, defaultPort: number) =>
  session.io.ask('Enter the TCP port for this listener.', {
    default: String(defaultPort),
    validate: (s) => {
      const port = parsePort(s);
      return { port, config: attempt(port) };
    },
  });

async function newListener(session: Session): Promise<void> {
  const io = session.io;
  const type = await io.choose('Please select the type of listener you want to create.', [
    { label: 'Public', value: 'public' as const },
    { label: 'Private', value: 'private' as const },
  ]);
  const name = await io.ask('Please create a name for this listener (Ex: "IncomingMail"):', {
    validate: (s) => checkNewName(session.draft, s),
  });
  const iface = await chooseInterface(session);
  const { config } = await askPort(session, (port) => addListener(session.draft, { name, type, interface: iface.name, port }), 25);
  const steps: FirstSteps = {};
  if (type === 'public') {
    steps.domains = await io.ask('Enter the domains this listener accepts mail for, separated by commas (".example.com" for its subdomains). Press Enter for none yet: every recipient is refused until one is added.', {
      default: '',
      allowEmpty: true,
      validate: (s) => listAnswer(s).map(checkRcptDomain),
    });
  } else {
    steps.relayHosts = await io.ask('Enter the hosts allowed to relay email through this listener (IP addresses, ranges, host names or .domains), separated by commas. Press Enter for none yet.', {
      default: '',
      allowEmpty: true,
      validate: (s) => {
        const hosts = listAnswer(s);
        for (const h of hosts) {
          const problem = senderPatternProblem(h);
          if (problem) throw new InvalidAnswer(`"${h}": ${problem}`);
        }
        return hosts;
      },
    });
  }
  if (config.certificates.length) {
    const certificate = await chooseCertificate(session, 'Please choose a certificate profile for this listener (STARTTLS).', null);
    if (certificate !== presentedProfile(config, null)?.name) steps.certificate = certificate;
  }
  session.draft = withFirstSteps(config, name, steps);
  io.print(`Listener ${name} created. Use "commit" to start it.`);
  if (steps.domains?.length === 0) io.warn(`Listener ${name} accepts mail for no domain yet: add them with "listenerconfig edit ${name} rcptaccess add DOMAIN".`);
}

async function editDialog(session: Session, listener: Listener): Promise<void> {
  let name = listener.name;
  const current = () => findListener(session.draft, name)!;
  const rename = async () => {
    const next = await session.io.ask('Please enter the new name for this listener:', {
      default: name,
      validate: (s) => checkNewName(session.draft, s, name),
    });
    session.draft = editListener(session.draft, name, { name: next });
    name = next;
  };
  const rebind = async () => {
    const iface = await chooseInterface(session, current().interface);
    const { config } = await askPort(session, (port) => editListener(session.draft, name, { interface: iface.name, port }), current().port);
    session.draft = config;
  };
  await session.io.menuLoop(
    () => session.io.print('', ...listenerSummary(session.draft, current())),
    [
      { keyword: 'NAME', text: 'Change the name of the listener.', run: rename },
      { keyword: 'INTERFACE', text: 'Change the interface and TCP port.', run: rebind },
      { keyword: 'LIMITS', text: 'Change the injection limits.', run: () => limitsDialog(session, name) },
      { keyword: 'HOSTACCESS', text: 'Modify the Host Access Table.', run: () => hostaccessDialog(session, name) },
      { keyword: 'RCPTACCESS', text: 'Modify the Recipient Access Table.', run: () => rcptaccessDialog(session, name) },
      { keyword: 'CERTIFICATE', text: 'Choose the certificate.', run: () => certificateDialog(session, name) },
    ],
  );
}

async function pick(session: Session, question: string): Promise<Listener | undefined> {
  if (session.draft.listeners.length === 0) {
    session.io.print('There are no listeners.');
    return undefined;
  }
  return session.io.choose(
    question,
    session.draft.listeners.map((l) => ({ label: describeListener(session.draft, l), value: l })),
  );
}

async function deleteDialog(session: Session): Promise<void> {
  const l = await pick(session, 'Enter the name or number of the listener you wish to delete.');
  if (l && (await session.io.confirm(`Are you sure you want to delete the listener "${l.name}"?`, false))) {
    session.draft = deleteListener(session.draft, l.name);
    session.io.print(`Listener ${l.name} deleted. Use "commit" to stop it.`);
  }
}

/**
 * Global settings: how many worker processes serve SMTP sessions beside the engine. The engine
 * keeps the listening sockets, the queue, delivery and the mail log; workers take TLS and SMTP.
 */
async function setupDialog(session: Session): Promise<void> {
  session.io.print(`Listener workers: ${describeWorkers(session.draft)}`);
  const workers = await session.io.ask('Enter the number of listener worker processes ("auto": one per processor core beyond the first two; 0: none).', {
    default: String(session.draft.listenerWorkers),
    validate: parseWorkers,
  });
  session.draft = setWorkers(session.draft, workers);
}

const dialog = (session: Session) =>
  session.io.menuLoop(
    () => printList(session),
    [
      { keyword: 'NEW', text: 'Create a new listener.', run: () => newListener(session) },
      {
        keyword: 'EDIT',
        text: 'Modify a listener.',
        run: async () => {
          const l = await pick(session, 'Enter the name or number of the listener you wish to edit.');
          if (l) await editDialog(session, l);
        },
      },
      { keyword: 'DELETE', text: 'Remove a listener.', run: () => deleteDialog(session) },
      { keyword: 'SETUP', text: 'Change global settings.', run: () => setupDialog(session) },
    ],
  );

export const listenerconfig: Command = {
  name: 'listenerconfig',
  summary: 'Create, edit and delete SMTP listeners',
  usage: [
    'listenerconfig',
    'listenerconfig list',
    'listenerconfig new NAME --type public|private --interface IFNAME --port N [--domains D1,D2…|--relay HOST1,HOST2…] [--certificate PROFILE]',
    'listenerconfig edit NAME [--name NEW] [--interface IFNAME] [--port N]',
    ...EDIT_USAGE,
    'listenerconfig delete NAME',
    'listenerconfig setup [--workers auto|N]',
  ],
  details: [
    'Changes are pending until "commit"; the engine then starts, stops or rebinds listeners.',
    'new: a public listener accepts mail only for the domains of its recipient access table (--domains); a private one relays for the hosts of its RELAYLIST (--relay); --certificate is the profile STARTTLS presents (the demonstration one when absent).',
    'setup --workers: processes that serve SMTP sessions beside the engine ("auto": one per core beyond the first two; 0: none).',
  ],
  keywords: ['list', 'new', 'edit', 'delete', 'setup'],
  names: (c) => [...c.listeners.map((l) => l.name), ...c.listeners.flatMap((l) => l.hat.senderGroups.map((g) => g.name)), ...c.listeners.flatMap((l) => l.hat.policies.map((p) => p.name))],
  async run(session, args) {
    if (args.length === 0) return dialog(session);
    const [verb, ...rest] = args;
    if (verb!.toLowerCase() === 'edit' && rest[1] && EDIT_KEYWORDS.includes(rest[1].toLowerCase())) {
      return editPolicyBatch(session, rest[0]!, rest[1].toLowerCase(), rest.slice(2));
    }
    const { values, positionals } = parseOptions(this, rest, {
      type: { type: 'string' },
      interface: { type: 'string' },
      port: { type: 'string' },
      name: { type: 'string' },
      workers: { type: 'string' },
      domains: { type: 'string' },
      relay: { type: 'string' },
      certificate: { type: 'string' },
    });
    const name = takeWords(this, positionals, ['list', 'setup'].includes(verb!.toLowerCase()) ? 0 : 1)[0];
    switch (verb!.toLowerCase()) {
      case 'list':
        printList(session);
        return;
      case 'new': {
        const spec: ListenerSpec = {
          name: required(this, name, 'NAME'),
          type: parseListenerType(required(this, values.type, '--type')),
          interface: required(this, values.interface, '--interface'),
          port: parsePort(required(this, values.port, '--port')),
        };
        const steps: FirstSteps = {};
        if (values.domains !== undefined) {
          if (spec.type !== 'public') throw new CommandError('--domains is for a public listener; a private one relays for the hosts given with --relay.');
          steps.domains = listAnswer(values.domains).map(checkRcptDomain);
        }
        if (values.relay !== undefined) {
          if (spec.type !== 'private') throw new CommandError('--relay is for a private listener; a public one accepts mail for the domains given with --domains.');
          steps.relayHosts = listAnswer(values.relay);
        }
        if (values.certificate !== undefined) steps.certificate = values.certificate;
        session.draft = withFirstSteps(addListener(session.draft, spec), spec.name, steps);
        session.io.print(`Listener ${spec.name} created. Use "commit" to start it.`);
        if (spec.type === 'public' && !steps.domains?.length) session.io.warn(`Listener ${spec.name} accepts mail for no domain yet: give --domains, or add them with "listenerconfig edit ${spec.name} rcptaccess add DOMAIN".`);
        return;
      }
      case 'edit': {
        const changes: Partial<ListenerSpec> = {};
        if (values.name !== undefined) changes.name = values.name;
        if (values.interface !== undefined) changes.interface = values.interface;
        if (values.port !== undefined) changes.port = parsePort(values.port);
        if (values.type !== undefined) changes.type = parseListenerType(values.type);
        if (Object.keys(changes).length === 0) throw new CommandError('Nothing to change: give --name, --interface, --port or --type.');
        session.draft = editListener(session.draft, required(this, name, 'NAME'), changes);
        session.io.print(`Listener ${changes.name ?? name} changed.`);
        return;
      }
      case 'setup':
        if (values.workers === undefined) {
          session.io.print(`Listener workers: ${describeWorkers(session.draft)}`);
          return;
        }
        session.draft = setWorkers(session.draft, parseWorkers(values.workers));
        session.io.print(`Listener workers: ${describeWorkers(session.draft)}. Use "commit" to apply.`);
        return;
      case 'delete':
        session.draft = deleteListener(session.draft, required(this, name, 'NAME'));
        session.io.print(`Listener ${name} deleted. Use "commit" to stop it.`);
        return;
      default:
        throw new CommandError(`Unknown operation "${verb}".\nUsage: ${this.usage.join('\n       ')}`);
    }
  },
};
