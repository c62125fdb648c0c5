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
import { checkName } from '../../store/answers.js';
import { certificateDialog, hostaccessDialog, limitsDialog, listenerSummary, rcptaccessDialog } from './dialogs.js';
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
  session.draft = config;
  io.print(`Listener ${name} created. Use "commit" to start it.`);
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
    'listenerconfig new NAME --type public|private --interface IFNAME --port N',
    'listenerconfig edit NAME [--name NEW] [--interface IFNAME] [--port N]',
    ...EDIT_USAGE,
    'listenerconfig delete NAME',
    'listenerconfig setup [--workers auto|N]',
  ],
  details: [
    'Changes are pending until "commit"; the engine then starts, stops or rebinds listeners.',
    'setup --workers: processes that serve SMTP sessions beside the engine ("auto": one per core beyond the first two; 0: none).',
  ],
  keywords: ['list', 'new', 'edit', 'delete', 'setup'],
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
        session.draft = addListener(session.draft, spec);
        session.io.print(`Listener ${spec.name} created. Use "commit" to start it.`);
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
