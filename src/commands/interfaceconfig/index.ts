import { type Command, parseOptions, required, takeWords } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { InvalidAnswer } from '../../shell/io.js';
import { checkIp, checkName, checkOptionalHostname } from '../../store/answers.js';
import type { Session } from '../../shell/session.js';
import { addInterface, deleteInterface, describeAcmeHttp, describeHttps, describeSsh, editInterface, findInterface, type HttpsSetting, listenersOnInterface, portOrNone, setInterfaceAcmeHttp, setInterfaceHttps, setInterfaceMetrics, setInterfaceSsh } from '../../store/network/interfaces.js';
import type { Config, Interface } from '../../store/schema.js';

const describe = (config: Config, i: Interface) => `${i.name} (${i.ip}/${i.hostname ?? config.hostname}) ${describeHttps(i)}, ${describeSsh(i)}${describeAcmeHttp(i)}`;

/**
 * The HTTPS question of the dialog (the appliance asks per service): on or off, port, the
 * certificate it presents and an optional HTTP port that only redirects.
 */
async function askHttps(session: Session, iface: Interface): Promise<HttpsSetting | null> {
  const io = session.io;
  const current = iface.https ?? null;
  if (!(await io.confirm('Do you want to enable HTTPS (the management interface) on this interface?', current !== null))) return null;
  const port = await io.askInt('Which port do you want to use for HTTPS?', { default: current?.port ?? 443, min: 1, max: 65535 });
  const profiles = session.draft.certificates;
  const certificate = profiles.length
    ? await io.choose(
        'Choose the certificate the HTTPS service presents:',
        profiles.map((p) => ({ label: `${p.name}${p.demo ? ' (demo: browsers will warn)' : ''}`, value: p.name })),
        Math.max(1, profiles.findIndex((p) => p.name === current?.certificate) + 1),
      )
    : null;
  const redirect = await io.ask('Which port should redirect HTTP to HTTPS ("none" for no HTTP)?', {
    default: current?.httpRedirect ? String(current.httpRedirect) : 'none',
    validate: (s) => portOrNone('HTTP redirect port', s),
  });
  return { port, certificate, httpRedirect: redirect };
}

/** The SSH question of the dialog: the appliance shell for userconfig accounts, on or off and its port. */
async function askSsh(session: Session, iface: Interface): Promise<number | null> {
  const io = session.io;
  if (!(await io.confirm('Do you want to enable SSH (the appliance shell for userconfig accounts) on this interface?', iface.ssh !== undefined))) return null;
  return io.askInt('Which port do you want to use for SSH?', { default: iface.ssh?.port ?? 22, min: 1, max: 65535 });
}

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
  let draft = editInterface(session.draft, iface.name, { name, ip, hostname });
  draft = setInterfaceHttps(draft, name, await askHttps(session, findInterface(draft, name)!));
  draft = setInterfaceSsh(draft, name, await askSsh(session, findInterface(draft, name)!));
  session.draft = draft;
  io.print(`Interface ${name} changed.`);
  warnDemo(session, findInterface(draft, name)!);
}

function warnDemo(session: Session, iface: Interface): void {
  if (!iface.https) return;
  const profile = session.draft.certificates.find((c) => (iface.https!.certificate === null ? c.demo : c.name === iface.https!.certificate));
  if (profile?.demo) session.io.warn(`HTTPS on ${iface.name} presents the demonstration certificate: it works, but browsers warn and it is not secure. Choose your own with --https-certificate.`);
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
  level: 'machine',
  summary: 'Configure the named IP interfaces listeners bind to',
  usage: [
    'interfaceconfig',
    'interfaceconfig list',
    'interfaceconfig new NAME --ip ADDR [--hostname HOST]',
    'interfaceconfig edit NAME [--name NEW] [--ip ADDR] [--hostname HOST]',
    'interfaceconfig edit NAME --https PORT|none [--https-certificate PROFILE] [--http-redirect PORT|none]',
    'interfaceconfig edit NAME --ssh PORT|none',
    'interfaceconfig edit NAME --acme-http PORT|none',
    'interfaceconfig edit NAME --metrics on|off',
    'interfaceconfig delete NAME',
  ],
  keywords: ['list', 'new', 'edit', 'delete'],
  names: (c) => c.interfaces.map((i) => i.name),
  async run(session, args) {
    if (args.length === 0) return dialog(session);
    const [verb, ...rest] = args;
    const { values, positionals } = parseOptions(this, rest, {
      ip: { type: 'string' },
      hostname: { type: 'string' },
      name: { type: 'string' },
      https: { type: 'string' },
      'https-certificate': { type: 'string' },
      'http-redirect': { type: 'string' },
      ssh: { type: 'string' },
      'acme-http': { type: 'string' },
      metrics: { type: 'string' },
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
        const httpsOptions = values.https !== undefined || values['https-certificate'] !== undefined || values['http-redirect'] !== undefined;
        if (Object.keys(changes).length === 0 && !httpsOptions && values.ssh === undefined && values['acme-http'] === undefined && values.metrics === undefined) {
          throw new CommandError('Nothing to change: give --name, --ip, --hostname, --https, --ssh, --acme-http or --metrics.');
        }
        let draft = Object.keys(changes).length ? editInterface(session.draft, required(this, name, 'NAME'), changes) : session.draft;
        const iface = findInterface(draft, values.name ?? required(this, name, 'NAME'));
        if (!iface) throw new CommandError(`No interface named "${name}". Known: ${draft.interfaces.map((i) => i.name).join(', ')}.`);
        if (httpsOptions) draft = setInterfaceHttps(draft, iface.name, httpsFrom(iface, values));
        if (values.ssh !== undefined) draft = setInterfaceSsh(draft, iface.name, portOrNone('--ssh', values.ssh));
        if (values['acme-http'] !== undefined) draft = setInterfaceAcmeHttp(draft, iface.name, portOrNone('--acme-http', values['acme-http']));
        if (values.metrics !== undefined) draft = metricsFrom(draft, iface.name, values.metrics);
        session.draft = draft;
        const changed = findInterface(draft, iface.name)!;
        session.io.print(`Interface ${iface.name} changed: ${describeHttps(changed)}, ${describeSsh(changed)}${describeAcmeHttp(changed)}.`);
        if (values.ssh !== undefined && changed.ssh && !draft.users.length) session.io.warn('There are no accounts yet: create one with "userconfig new NAME --role administrator" so someone can log in over SSH.');
        warnDemo(session, findInterface(draft, iface.name)!);
        if (values.metrics !== undefined && changed.metrics && !draft.metrics.tokens.length && !draft.metrics.allow.length) {
          session.io.warn('Nobody may read /metrics yet: give your monitoring a token with "metricsconfig token new" or allow its address with "metricsconfig allow ADDRESS".');
        }
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

/** The HTTPS setting the batch options ask for, starting from the interface's current one. */
function httpsFrom(iface: Interface, values: { https?: string; 'https-certificate'?: string; 'http-redirect'?: string }): HttpsSetting | null {
  const port = values.https !== undefined ? portOrNone('--https', values.https) : (iface.https?.port ?? null);
  if (port === null) {
    if (values['https-certificate'] !== undefined || values['http-redirect'] !== undefined) {
      throw new CommandError(`HTTPS is off on ${iface.name}: --https-certificate and --http-redirect need --https PORT.`);
    }
    return null;
  }
  const certificate = values['https-certificate'] !== undefined ? values['https-certificate'] : (iface.https?.certificate ?? null);
  const httpRedirect = values['http-redirect'] !== undefined ? portOrNone('--http-redirect', values['http-redirect']) : (iface.https?.httpRedirect ?? null);
  return { port, certificate, httpRedirect };
}

/** --metrics on|off: the Prometheus endpoint on the interface's HTTPS port. */
function metricsFrom(draft: Config, name: string, value: string): Config {
  const v = value.trim().toLowerCase();
  if (v !== 'on' && v !== 'off') throw new CommandError(`--metrics must be on or off; not "${value}".`);
  if (v === 'on' && !findInterface(draft, name)!.https) throw new CommandError(`/metrics is served on the HTTPS port: turn HTTPS on first (interfaceconfig edit ${name} --https PORT).`);
  return setInterfaceMetrics(draft, name, v === 'on');
}
