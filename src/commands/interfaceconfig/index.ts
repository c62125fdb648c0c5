import { type Command, parseOptions, required, takeWords } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { InvalidAnswer } from '../../shell/io.js';
import { checkIp, checkName, checkOptionalHostname } from '../answers.js';
import type { Session } from '../../shell/session.js';
import { addInterface, deleteInterface, editInterface, findInterface, listenersOnInterface } from '../../store/interfaces.js';
import type { Config, Interface } from '../../store/schema.js';

const describe = (config: Config, i: Interface) => `${i.name} (${i.ip}/${i.hostname ?? config.hostname})`;

function printList(session: Session): void {
  const { draft } = session;
  session.io.print('', 'Currently configured interfaces:');
  draft.interfaces.forEach((i, n) => session.io.print(`${n + 1}. ${describe(draft, i)}`));
}

async function pick(session: Session, question: string): Promise<Interface> {
  return session.io.choose(
    question,
    session.draft.interfaces.map((i) => ({ label: describe(session.draft, i), value: i })),
  );
}

async function newInterface(session: Session): Promise<void> {
  const io = session.io;
  const name = await io.ask('Please enter a name for this IP interface (Ex: "InternalNet"):', {
    validate: (s) => {
      if (findInterface(session.draft, s)) throw new InvalidAnswer(`An interface named "${s}" already exists.`);
      return checkName(s);
    },
  });
  const ip = await io.ask('Enter the IP address for this interface:', { validate: checkIp });
  const hostname = await io.ask(`Enter the hostname for this interface (empty: use ${session.draft.hostname}):`, {
    default: '',
    allowEmpty: true,
    validate: checkOptionalHostname,
  });
  session.draft = addInterface(session.draft, { name, ip, ...(hostname ? { hostname } : {}) });
  io.print(`Interface ${name} created.`);
}

async function editDialog(session: Session): Promise<void> {
  const io = session.io;
  const iface = await pick(session, 'Enter the number of the interface you wish to edit.');
  const name = await io.ask('Please enter a name for this IP interface:', { default: iface.name, validate: checkName });
  const ip = await io.ask('Enter the IP address for this interface:', { default: iface.ip, validate: checkIp });
  const hostname = await io.ask('Enter the hostname for this interface:', {
    default: iface.hostname ?? '',
    allowEmpty: true,
    validate: checkOptionalHostname,
  });
  session.draft = editInterface(session.draft, iface.name, { name, ip, hostname });
  io.print(`Interface ${name} changed.`);
}

async function deleteDialog(session: Session): Promise<void> {
  const io = session.io;
  const iface = await pick(session, 'Enter the number of the interface you wish to delete.');
  const users = listenersOnInterface(session.draft, iface.name);
  if (users.length) {
    io.print(`Interface ${iface.name} is used by listener(s) ${users.join(', ')}; delete or move them first.`);
    return;
  }
  if (await io.confirm(`Are you sure you want to delete the interface "${iface.name}"?`, false)) {
    session.draft = deleteInterface(session.draft, iface.name);
    io.print(`Interface ${iface.name} deleted.`);
  }
}

const dialog = (session: Session) =>
  session.io.menuLoop(
    () => printList(session),
    [
      { keyword: 'NEW', text: 'Create a new interface.', run: () => newInterface(session) },
      { keyword: 'EDIT', text: 'Modify an interface.', run: () => editDialog(session) },
      { keyword: 'DELETE', text: 'Remove an interface.', run: () => deleteDialog(session) },
    ],
  );

export const interfaceconfig: Command = {
  name: 'interfaceconfig',
  summary: 'Configure the named IP interfaces listeners bind to',
  usage: [
    'interfaceconfig',
    'interfaceconfig list',
    'interfaceconfig new NAME --ip ADDR [--hostname HOST]',
    'interfaceconfig edit NAME [--name NEW] [--ip ADDR] [--hostname HOST]',
    'interfaceconfig delete NAME',
  ],
  keywords: ['list', 'new', 'edit', 'delete'],
  async run(session, args) {
    if (args.length === 0) return dialog(session);
    const [verb, ...rest] = args;
    const { values, positionals } = parseOptions(this, rest, {
      ip: { type: 'string' },
      hostname: { type: 'string' },
      name: { type: 'string' },
    });
    const name = takeWords(this, positionals, verb!.toLowerCase() === 'list' ? 0 : 1)[0];
    switch (verb!.toLowerCase()) {
      case 'list':
        printList(session);
        return;
      case 'new':
        session.draft = addInterface(session.draft, {
          name: required(this, name, 'NAME'),
          ip: required(this, values.ip, '--ip'),
          ...(values.hostname ? { hostname: values.hostname } : {}),
        });
        session.io.print(`Interface ${name} created.`);
        return;
      case 'edit': {
        const changes: Partial<Interface> = {};
        if (values.name !== undefined) changes.name = values.name;
        if (values.ip !== undefined) changes.ip = values.ip;
        if (values.hostname !== undefined) changes.hostname = values.hostname || undefined;
        if (Object.keys(changes).length === 0) throw new CommandError('Nothing to change: give --name, --ip or --hostname.');
        session.draft = editInterface(session.draft, required(this, name, 'NAME'), changes);
        session.io.print(`Interface ${values.name ?? name} changed.`);
        return;
      }
      case 'delete':
        session.draft = deleteInterface(session.draft, required(this, name, 'NAME'));
        session.io.print(`Interface ${name} deleted.`);
        return;
      default:
        throw new CommandError(`Unknown operation "${verb}".\nUsage: ${this.usage.join('\n       ')}`);
    }
  },
};
