import { currentCertificateIndex } from '../../store/certificates/certificates.js';
import { type Command, parseOptions, required, takeWords } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { checkDomain, optionalCount, parseYesNo } from '../../store/answers.js';
import { askNewBounceProfile } from '../bounceconfig/questions.js';
import { formatTable } from '../../shell/table.js';
import type { Session } from '../../shell/session.js';
import {
  DANE_LABELS,
  DANE_MODES,
  type DaneMode,
  DEST_TLS,
  type Destination,
  type MtaStsMode,
  type DestinationDefaults,
  destinationForPattern,
  inheritedOffByTls,
  type DestinationTls,
  IP_SORT,
  IP_SORT_LABELS,
  type IpSort,
  LIMIT_SCOPE_LABELS,
  LIMIT_SCOPES,
  LIMIT_TYPE_LABELS,
  LIMIT_TYPES,
  type LimitScope,
  type LimitType,
  TLS_LABELS,
} from '../../store/destinations/destinations.js';
import {
  deleteDestination,
  parseDaneMode,
  parseDestinationTls,
  parseIpSort,
  parseLimitScope,
  parseLimitType,
  parseMtaStsMode,
  putDestination,
  replaceDestinations,
  setDeliverySetup,
  setDestinationDefaults,
} from '../../store/destinations/edits.js';
import { formatDestinations, parseDestinations } from '../../store/destinations/text.js';
import { readConfigFile, writeConfigFile } from '../files.js';
import { daneResolverWarning } from '../../store/network/routing.js';

type Settings = Partial<Omit<DestinationDefaults, 'tls' | 'dane' | 'mtaSts' | 'ipSort'>> & { tls?: DestinationTls; dane?: DaneMode; mtaSts?: MtaStsMode; ipSort?: IpSort };

const STS_LABELS: Record<MtaStsMode, string> = { no: 'No', yes: 'Yes' };

const OPTIONS = {
  tls: { type: 'string' },
  dane: { type: 'string' },
  'mta-sts': { type: 'string' },
  'ip-sort': { type: 'string' },
  'max-concurrency': { type: 'string' },
  'messages-per-connection': { type: 'string' },
  'recipient-limit': { type: 'string' },
  'bounce-profile': { type: 'string' },
  'bounce-verification': { type: 'string' },
  'limit-type': { type: 'string' },
  'limit-scope': { type: 'string' },
  certificate: { type: 'string' },
  'alert-on-required-tls-failure': { type: 'string' },
  'alert-on-dane-failure': { type: 'string' },
  file: { type: 'string' },
} as const;

function settingsFrom(values: Record<string, string | undefined>): Settings {
  const out: Settings = {};
  if (values.tls !== undefined) out.tls = parseDestinationTls(values.tls);
  if (values.dane !== undefined) out.dane = parseDaneMode(values.dane);
  if (values['mta-sts'] !== undefined) out.mtaSts = parseMtaStsMode(values['mta-sts']);
  if (values['ip-sort'] !== undefined) out.ipSort = parseIpSort(values['ip-sort']);
  const c = optionalCount(values['max-concurrency'], '--max-concurrency');
  if (c !== undefined) out.maxConcurrency = c;
  const m = optionalCount(values['messages-per-connection'], '--messages-per-connection');
  if (m !== undefined) out.messagesPerConnection = m;
  const r = values['recipient-limit'];
  if (r !== undefined) {
    const parsed = /^(\d+)\/(\d+)$/.exec(r);
    if (r !== 'none' && !parsed) throw new CommandError('--recipient-limit is RECIPIENTS/MINUTES (for example 100/60) or none.');
    out.recipientLimit = parsed ? { recipients: Number(parsed[1]), minutes: Number(parsed[2]) } : null;
  }
  if (values['limit-type'] !== undefined) out.limitType = parseLimitType(values['limit-type']);
  if (values['limit-scope'] !== undefined) out.limitScope = parseLimitScope(values['limit-scope']);
  const v = values['bounce-verification'];
  if (v !== undefined && v.toLowerCase() !== 'default') out.bounceVerification = parseYesNo(v, '--bounce-verification');
  const b = values['bounce-profile'];
  if (b !== undefined && b.toLowerCase() !== 'default') out.bounceProfile = b;
  return out;
}

function describe(session: Session, domain: string | null): string[] {
  const d = session.draft.delivery;
  const r = domain ? destinationForPattern(d, domain) : { ...d.defaults, source: 'Default' };
  const entry = domain ? d.destinations.find((e) => e.domain.toLowerCase() === domain.toLowerCase()) : undefined;
  const mark = (k: keyof Destination) => ((k === 'dane' || k === 'mtaSts') && inheritedOffByTls(entry, k) ? ' (TLS is No)' : domain && entry?.[k] === undefined ? ' (Default)' : '');
  return [
    `${domain ?? 'Default'}:`,
    `    TLS: ${TLS_LABELS[r.tls]}${mark('tls')}`,
    `    DANE Support: ${DANE_LABELS[r.dane]}${mark('dane')}`,
    `    MTA-STS Support: ${STS_LABELS[r.mtaSts]}${mark('mtaSts')}${r.mtaSts === 'yes' && r.dane === 'mandatory' ? ' (not consulted: DANE is mandatory)' : ''}`,
    `    IP sort preference: ${IP_SORT_LABELS[r.ipSort]}${mark('ipSort')}`,
    `    Maximum concurrency: ${r.maxConcurrency}${mark('maxConcurrency')}`,
    `    Limits apply: ${LIMIT_TYPE_LABELS[r.limitType]}${mark('limitType')}`,
    `    Limits are enforced: ${LIMIT_SCOPE_LABELS[r.limitScope]}${r.limitScope === 'virtual-gateway' ? ' (mxgate delivers from one address: the same as System Wide)' : ''}${mark('limitScope')}`,
    `    Messages per connection: ${r.messagesPerConnection}${mark('messagesPerConnection')}`,
    `    Recipient limit: ${r.recipientLimit ? `${r.recipientLimit.recipients} per ${r.recipientLimit.minutes} minutes` : 'none'}${mark('recipientLimit')}`,
    `    Bounce verification address tagging: ${r.bounceVerification ? 'Yes' : 'No'}${mark('bounceVerification')}`,
    `    Bounce profile: ${r.bounceProfile}${mark('bounceProfile')}`,
  ];
}

function list(session: Session): string[] {
  const d = session.draft.delivery;
  const entries: [string, Partial<DestinationDefaults>][] = [['Default', d.defaults], ...d.destinations.map((e): [string, Partial<DestinationDefaults>] => [e.domain, e])];
  const rows = entries.map(([dom, e]) => {
    const r = dom === 'Default' ? d.defaults : destinationForPattern(d, dom);
    const tls = e.tls === undefined ? `Default (${TLS_LABELS[d.defaults.tls]})` : TLS_LABELS[e.tls];
    const own = dom === 'Default' ? undefined : (e as Destination);
    const dane = inheritedOffByTls(own, 'dane') ? `${DANE_LABELS.none} (TLS is No)` : e.dane === undefined ? `Default (${DANE_LABELS[d.defaults.dane]})` : DANE_LABELS[e.dane];
    const sts = inheritedOffByTls(own, 'mtaSts') ? `${STS_LABELS.no} (TLS is No)` : e.mtaSts === undefined ? `Default (${STS_LABELS[d.defaults.mtaSts]})` : STS_LABELS[e.mtaSts];
    return [dom, tls, dane, sts, String(r.maxConcurrency), String(r.messagesPerConnection)];
  });
  return [
    ...formatTable(['Domain', 'TLS', 'DANE', 'MTA-STS', 'Concurrency', 'Msgs/Conn'], rows),
    '',
    `Outbound certificate: ${d.certificate ?? 'Demo (not set)'}`,
    `Alert when a required TLS connection fails: ${d.alertOnRequiredTlsFailure ? 'Yes' : 'No'}`,
    `Alert when DANE verification fails: ${d.alertOnDaneFailure ? 'Yes' : 'No'}`,
  ];
}

function warnResolver(session: Session): void {
  const warning = daneResolverWarning(session.draft);
  if (warning) session.io.warn(warning);
}

/**
 * The NEW/EDIT/DEFAULT question sequence; `specific` asks first whether to set each one, and "no"
 * returns that setting to the default entry's value (EDIT as NEW: the answer is what is stored).
 */
async function askSettings(session: Session, base: DestinationDefaults, specific: boolean): Promise<Settings> {
  const io = session.io;
  const out: Settings = {};
  // Keys present with undefined: putDestination's merge then clears the entry's own value ("Default").
  const toDefault = (...keys: (keyof Settings)[]) => {
    if (specific) for (const k of keys) (out as Record<string, unknown>)[k] = undefined;
  };
  const want = (q: string) => (specific ? io.confirm(q, false) : Promise.resolve(true));
  if (await want('Do you wish to configure a concurrency limit for this domain?')) {
    out.maxConcurrency = await io.askInt('Enter the max concurrency limit.', { default: base.maxConcurrency, min: 1, max: 1000 });
  } else toDefault('maxConcurrency');
  if (await io.confirm(specific ? 'Do you wish to apply a recipient limit to this domain?' : 'Do you want to specify a default recipient limit?', base.recipientLimit !== null && !specific)) {
    const minutes = await io.askInt('Enter the number of minutes used to measure the recipient limit.', { default: base.recipientLimit?.minutes ?? 60, min: 1, max: 60 });
    const recipients = await io.askInt('Enter the max number of recipients per time period.', { default: base.recipientLimit?.recipients ?? 100, min: 1, max: 1000000 });
    out.recipientLimit = { recipients, minutes };
  } else if (!specific) {
    out.recipientLimit = null;
  } else toDefault('recipientLimit');
  // The appliance asks these where a limit was set (always for the default entry).
  if (!specific || out.maxConcurrency !== undefined || out.recipientLimit) {
    out.limitType = await io.choose<LimitType>(
      'How do you want to apply the limits for this domain?',
      LIMIT_TYPES.map((t) => ({ label: LIMIT_TYPE_LABELS[t], value: t })),
      LIMIT_TYPES.indexOf(base.limitType) + 1,
    );
    out.limitScope = await io.choose<LimitScope>(
      'Select how the limits will be enforced (mxgate delivers from one address, so both mean the same):',
      LIMIT_SCOPES.map((t) => ({ label: LIMIT_SCOPE_LABELS[t], value: t })),
      LIMIT_SCOPES.indexOf(base.limitScope) + 1,
    );
  } else toDefault('limitType', 'limitScope');
  if (await want('Do you wish to apply a messages-per-connection limit to this domain?')) {
    out.messagesPerConnection = await io.askInt('Enter the max number of messages per connection.', { default: base.messagesPerConnection, min: 1, max: 10000 });
  } else toDefault('messagesPerConnection');
  if (await (specific ? io.confirm('Do you wish to apply a specific TLS setting for this domain?', false) : Promise.resolve(true))) {
    out.tls = await io.choose<DestinationTls>(
      'Do you want to use TLS support?',
      DEST_TLS.map((t) => ({ label: TLS_LABELS[t], value: t })),
      DEST_TLS.indexOf(base.tls) + 1,
    );
    if (out.tls !== 'no' && session.draft.delivery.certificate === null) {
      io.print('You have not entered a certificate for outbound TLS; the demonstration certificate will be used when a server asks for one. To assign a certificate, use "destconfig setup".');
    }
  } else toDefault('tls');
  // DANE needs TLS: asked only when the TLS setting in force for this entry is not No (after a
  // "no" above, that is the default entry's).
  const tlsInForce = out.tls ?? (specific ? session.draft.delivery.defaults.tls : base.tls);
  if (tlsInForce !== 'no') {
    if (await (specific ? io.confirm('Do you wish to configure DANE Support for this domain?', false) : Promise.resolve(true))) {
      out.dane = await io.choose<DaneMode>(
        specific ? 'Please choose a DANE option:' : 'Do you want to use DANE Support?',
        DANE_MODES.map((m) => ({ label: DANE_LABELS[m], value: m })),
        DANE_MODES.indexOf(base.dane) + 1,
      );
    } else toDefault('dane');
    // MTA-STS, asked after DANE (the order of the AsyncOS guide's steps).
    if (await (specific ? io.confirm('Do you wish to configure MTA-STS Support for this domain?', false) : Promise.resolve(true))) {
      out.mtaSts = (await io.confirm('Do you want to use MTA-STS Support?', base.mtaSts === 'yes')) ? 'yes' : 'no';
      if (out.mtaSts === 'yes' && !specific) io.print('MTA-STS on the default entry applies to every domain; policies are cached, but each new domain costs a DNS lookup and possibly an HTTPS fetch.');
    } else toDefault('mtaSts');
  } else if (specific) {
    toDefault('dane', 'mtaSts'); // off while this entry's TLS is No, whatever the default entry says
  } else if (base.dane !== 'none' || base.mtaSts !== 'no') {
    out.dane = 'none';
    out.mtaSts = 'no';
    io.print('DANE Support is set to None and MTA-STS Support to No: both need a TLS setting other than No.');
  }
  if (await want('Do you wish to apply a specific bounce verification address tagging setting for this domain?')) {
    out.bounceVerification = await io.confirm('Perform bounce verification address tagging?', base.bounceVerification);
  } else toDefault('bounceVerification');
  if (await (specific ? io.confirm('Do you wish to apply a specific bounce profile to this domain?', false) : Promise.resolve(true))) {
    out.bounceProfile = await chooseBounceProfile(session, base.bounceProfile);
  } else toDefault('bounceProfile');
  // The appliance's last question: the order of each MX's addresses (IPv4 / IPv6).
  if (await want('Do you wish to apply a specific IP sort preference to this domain?')) {
    out.ipSort = await io.choose<IpSort>(
      'How do you want to sort IP addresses within an MX?',
      IP_SORT.map((v) => ({ label: IP_SORT_LABELS[v], value: v })),
      IP_SORT.indexOf(base.ipSort) + 1,
    );
  } else toDefault('ipSort');
  return out;
}

/** The appliance's bounce profile question: an existing profile, or "New Profile" made on the spot. */
async function chooseBounceProfile(session: Session, current: string): Promise<string> {
  const io = session.io;
  const profiles = session.draft.bounceProfiles;
  const picked = await io.choose<string | null>(
    'Please choose a bounce profile to apply:',
    [...profiles.map((p) => ({ label: p.name, value: p.name })), { label: 'New Profile', value: null }],
    Math.max(1, profiles.findIndex((p) => p.name.toLowerCase() === current.toLowerCase()) + 1),
  );
  if (picked !== null) return picked;
  return askNewBounceProfile(session, 'Please enter the name for the profile:');
}

async function dialog(session: Session): Promise<void> {
  const io = session.io;
  const pickDomain = (q: string) => io.choose(q, session.draft.delivery.destinations.map((e) => ({ label: e.domain, value: e.domain })));
  await io.menuLoop(
    () => io.print('', ...list(session)),
    [
      {
        keyword: 'NEW',
        text: 'Create a new entry.',
        run: async () => {
          const domain = await io.ask('Enter the domain you wish to configure.', { validate: checkDomain });
          // The answers first: "New Profile" adds a bounce profile to the draft on the way.
          const settings = await askSettings(session, session.draft.delivery.defaults, true);
          session.draft = putDestination(session.draft, { domain, ...settings }, { create: true });
        },
      },
      {
        keyword: 'EDIT',
        text: 'Modify an entry.',
        run: async () => {
          if (!session.draft.delivery.destinations.length) return io.print('There are no entries to edit.');
          const domain = await pickDomain('Enter the domain you wish to edit.');
          const settings = await askSettings(session, destinationForPattern(session.draft.delivery, domain), true);
          session.draft = putDestination(session.draft, { domain, ...settings }, { create: false });
        },
      },
      {
        keyword: 'DELETE',
        text: 'Remove an entry.',
        run: async () => {
          if (!session.draft.delivery.destinations.length) return io.print('There are no entries to delete.');
          session.draft = deleteDestination(session.draft, await pickDomain('Enter the domain you wish to delete.'));
        },
      },
      {
        keyword: 'DEFAULT',
        text: 'Change the default.',
        run: async () => {
          const settings = await askSettings(session, session.draft.delivery.defaults, false);
          session.draft = setDestinationDefaults(session.draft, settings);
        },
      },
      { keyword: 'LIST', text: 'Display a summary list of all entries.', run: async () => io.print(...list(session)) },
      {
        keyword: 'DETAIL',
        text: 'Display details for one destination or all entries.',
        run: async () => {
          const which = await io.ask('Enter the domain you wish to view, or "all".', { default: 'all' });
          const domains = which.toLowerCase() === 'all' ? [null, ...session.draft.delivery.destinations.map((e) => e.domain)] : [which];
          for (const d of domains) io.print(...describe(session, d));
        },
      },
      {
        keyword: 'CLEAR',
        text: 'Remove all entries.',
        run: async () => {
          if (await io.confirm('Do you want to remove all destination control entries (the default stays)?', false)) {
            session.draft = replaceDestinations(session.draft, session.draft.delivery.defaults, []);
          }
        },
      },
      {
        keyword: 'SETUP',
        text: 'Change global settings.',
        run: async () => {
          const certificate = await io.choose(
            'Please choose the certificate to present for all outbound TLS connections.',
            session.draft.certificates.map((c) => ({ label: `${c.name}${c.demo ? ' (demonstration certificate)' : ''}`, value: c.name })),
            currentCertificateIndex(session.draft, session.draft.delivery.certificate),
          );
          const alert = await io.confirm('Do you want to send an alert when a required TLS connection fails?', session.draft.delivery.alertOnRequiredTlsFailure);
          const daneAlert = await io.confirm('Do you want to send an alert when DANE verification fails for all MX hosts of a domain?', session.draft.delivery.alertOnDaneFailure);
          session.draft = setDeliverySetup(session.draft, { certificate, alertOnRequiredTlsFailure: alert, alertOnDaneFailure: daneAlert });
        },
      },
      {
        keyword: 'IMPORT',
        text: 'Import tables from a file.',
        run: async () => {
          const parsed = parseDestinations((await readConfigFile(session, await io.ask('Enter the name of the file to import:'))).toString('utf8'));
          session.draft = replaceDestinations(session.draft, parsed.defaults, parsed.entries);
        },
      },
      {
        keyword: 'EXPORT',
        text: 'Export tables to a file.',
        run: async () => {
          const file = await io.ask('Enter the name of the file to export:', { default: 'destconfig.txt' });
          io.print(`Exported to ${await writeConfigFile(session, file, formatDestinations(session.draft.delivery.defaults, session.draft.delivery.destinations))}.`);
        },
      },
    ],
  );
}

export const destconfig: Command = {
  name: 'destconfig',
  summary: 'Destination controls: per-domain TLS policy and delivery limits',
  usage: [
    'destconfig',
    'destconfig new DOMAIN --tls default|no|preferred|required|preferred-verify|required-verify|required-verify-hosted [--dane default|none|opportunistic|mandatory] [--mta-sts default|yes|no] [--ip-sort default|prefer-ipv4|prefer-ipv6|require-ipv4|require-ipv6] [--max-concurrency N] [--messages-per-connection N] [--recipient-limit N/MIN|none] [--limit-type domain|mx-ip|default] [--limit-scope system|virtual-gateway|default] [--bounce-profile NAME|default] [--bounce-verification yes|no|default]',
    'destconfig edit DOMAIN --tls … [same options]',
    'destconfig delete DOMAIN',
    'destconfig default --tls no|preferred|… --dane none|opportunistic|mandatory --mta-sts yes|no [same options]',
    'destconfig list',
    'destconfig detail DOMAIN|all',
    'destconfig clear',
    'destconfig setup --certificate PROFILE|none --alert-on-required-tls-failure yes|no --alert-on-dane-failure yes|no',
    'destconfig export|import --file FILE',
  ],
  details: [
    'DOMAIN is an exact domain or ".domain" for all its subdomains. "--tls default" (or leaving a',
    'setting out) takes the value of the default entry. TLS settings, as the AsyncOS guide describes them:',
    '  preferred: STARTTLS when offered, else clear; a failed handshake is retried, never sent in clear.',
    '  required: TLS or nothing is sent.  *-verify: the certificate must chain to an enabled CA and',
    '  match the MX host or domain (preferred-verify still delivers over TLS when it does not).',
    '  required-verify-hosted: RFC 6125 strict names (subjectAltName first), domain or MX host.',
    'DANE Support (RFC 7672; needs a TLS setting other than no and a validating resolver on loopback):',
    '  none: TLSA records are not looked up.  opportunistic: where the MX and address records are DNSSEC',
    '  secure and TLSA records exist, the server must match them (DANE-EE 3 or DANE-TA 2), else nothing is',
    '  sent; elsewhere the TLS setting applies.  mandatory: only hosts that pass DANE are used.',
    '  A failed (BOGUS) lookup never counts as "no DANE": that host is not used.',
    '  "daneverify DOMAIN" shows the steps; "certconfig tlsa NAME" prints records for our own certificate.',
    'MTA-STS Support (RFC 8461; needs a TLS setting other than no): the domain\'s policy is discovered',
    '  (TXT _mta-sts.DOMAIN), fetched from https://mta-sts.DOMAIN/ (certificate checked against the enabled',
    '  CA lists) and cached under the data directory. enforce: only MX hosts the policy names, TLS 1.2+',
    '  with a certificate for the MX host, or nothing is sent. testing: failures are only reported.',
    '  DANE comes first: where DANE authenticates a host MTA-STS is skipped; a DANE failure is never',
    '  rescued by MTA-STS; with DANE mandatory MTA-STS is not consulted. "mtastsstatus" shows the cache.',
    'IP sort preference (--ip-sort; ip_sort_pref in export files): the order of each MX\'s addresses.',
    '  prefer-ipv6 (the default) / prefer-ipv4: that family first, the other when all of it failed.',
    '  require-ipv6 / require-ipv4: only that family; an MX without such an address is not used.',
    '  DANE and MTA-STS apply the same whichever family carries the session.',
    'Limits (--limit-type): domain: the concurrency limit counts messages under way to the whole domain,',
    '  the recipient limit the recipients offered to it; mx-ip: they count the connections open to each',
    '  mail exchanger address (idle kept ones too) and the recipients offered to each, so a domain with',
    '  more MX addresses gets more (recipients past one address\'s limit go to another with room).',
    '  --limit-scope system|virtual-gateway: mxgate delivers from one address, so both mean the same.',
    'Bounce profile (--bounce-profile; bounceconfig makes them): retries, time in queue, bounce and delay',
    '  messages for this destination\'s mail; "default" takes the default entry\'s profile.',
    'Bounce verification (--bounce-verification; bvconfig keeps the keys): the envelope sender of mail to',
    '  this destination is tagged, so a bounce that comes back can be verified.',
  ],
  keywords: ['new', 'edit', 'delete', 'default', 'list', 'detail', 'clear', 'setup', 'export', 'import'],
  names: (c) => c.delivery.destinations.map((d) => d.domain),
  async run(session, args) {
    if (args.length === 0) return dialog(session);
    const [verb, ...rest] = args;
    const { values, positionals } = parseOptions(this, rest, OPTIONS);
    const io = session.io;
    const takesDomain = ['new', 'edit', 'delete', 'detail'].includes(verb!.toLowerCase());
    const domain = takeWords(this, positionals, takesDomain ? 1 : 0)[0];
    switch (verb!.toLowerCase()) {
      case 'new':
      case 'edit': {
        const d = required(this, domain, 'DOMAIN');
        checkDomain(d);
        const settings = settingsFrom(values);
        const entry: Destination = { domain: d, ...settings };
        // "--tls default" / "--dane default" return the setting to the default entry's value.
        if (values.tls?.toLowerCase() === 'default') entry.tls = undefined;
        if (values.dane?.toLowerCase() === 'default') entry.dane = undefined;
        if (values['mta-sts']?.toLowerCase() === 'default') entry.mtaSts = undefined;
        if (values['bounce-profile']?.toLowerCase() === 'default') entry.bounceProfile = undefined;
        if (values['limit-type']?.toLowerCase() === 'default') entry.limitType = undefined;
        if (values['limit-scope']?.toLowerCase() === 'default') entry.limitScope = undefined;
        if (values['bounce-verification']?.toLowerCase() === 'default') entry.bounceVerification = undefined;
        session.draft = putDestination(session.draft, entry, { create: verb!.toLowerCase() === 'new' });
        io.print(...describe(session, d));
        if (values.dane !== undefined) warnResolver(session);
        return;
      }
      case 'delete':
        session.draft = deleteDestination(session.draft, required(this, domain, 'DOMAIN'));
        io.print(`${domain} removed from the destination control table.`);
        return;
      case 'default': {
        const settings = settingsFrom(values);
        if (values.tls?.toLowerCase() === 'default') throw new CommandError('The default entry needs a TLS setting of its own (no, preferred, …).');
        if (values.dane?.toLowerCase() === 'default') throw new CommandError('The default entry needs a DANE setting of its own (none, opportunistic or mandatory).');
        if (values['mta-sts']?.toLowerCase() === 'default') throw new CommandError('The default entry needs an MTA-STS setting of its own (yes or no).');
        if (values['bounce-profile'] !== undefined) settings.bounceProfile = values['bounce-profile']; // "Default" is the profile here
        if (values['limit-type']?.toLowerCase() === 'default' || values['limit-scope']?.toLowerCase() === 'default') throw new CommandError('The default entry needs limit settings of its own (--limit-type domain|mx-ip, --limit-scope system|virtual-gateway).');
        if (values['bounce-verification']?.toLowerCase() === 'default') throw new CommandError('The default entry needs a bounce verification setting of its own (yes or no).');
        if (values['ip-sort']?.toLowerCase() === 'default') throw new CommandError('The default entry needs an IP sort preference of its own (prefer-ipv6, prefer-ipv4, require-ipv6 or require-ipv4).');
        if (Object.keys(settings).length === 0) throw new CommandError(`Nothing to change.\nUsage: ${this.usage[4]}`);
        session.draft = setDestinationDefaults(session.draft, settings);
        io.print(...describe(session, null));
        if (values.dane !== undefined) warnResolver(session);
        return;
      }
      case 'list':
        io.print(...list(session));
        return;
      case 'detail': {
        const which = required(this, domain, 'DOMAIN or all');
        const domains = which.toLowerCase() === 'all' ? [null, ...session.draft.delivery.destinations.map((e) => e.domain)] : [which];
        for (const d of domains) io.print(...describe(session, d));
        return;
      }
      case 'clear':
        session.draft = replaceDestinations(session.draft, session.draft.delivery.defaults, []);
        io.print('All destination control entries removed (the default stays).');
        return;
      case 'setup': {
        const alert = values['alert-on-required-tls-failure'];
        if (alert !== undefined && !/^(yes|no)$/i.test(alert)) throw new CommandError('--alert-on-required-tls-failure is yes or no.');
        const daneAlert = values['alert-on-dane-failure'];
        if (daneAlert !== undefined && !/^(yes|no)$/i.test(daneAlert)) throw new CommandError('--alert-on-dane-failure is yes or no.');
        const cert = values.certificate;
        if (cert === undefined && alert === undefined && daneAlert === undefined) throw new CommandError(`Nothing to change.\nUsage: ${this.usage[8]}`);
        session.draft = setDeliverySetup(session.draft, {
          ...(cert !== undefined ? { certificate: cert.toLowerCase() === 'none' ? null : cert } : {}),
          ...(alert !== undefined ? { alertOnRequiredTlsFailure: alert.toLowerCase() === 'yes' } : {}),
          ...(daneAlert !== undefined ? { alertOnDaneFailure: daneAlert.toLowerCase() === 'yes' } : {}),
        });
        io.print(...list(session).slice(-3));
        if (session.draft.certificates.find((c) => c.name === session.draft.delivery.certificate)?.demo) {
          io.warn('You may use the demo certificate to test TLS, but this will not be secure.');
        }
        return;
      }
      case 'export': {
        const file = await writeConfigFile(session, required(this, values.file, '--file'), formatDestinations(session.draft.delivery.defaults, session.draft.delivery.destinations));
        io.print(`Destination controls exported to ${file}.`);
        return;
      }
      case 'import': {
        const parsed = parseDestinations((await readConfigFile(session, required(this, values.file, '--file'))).toString('utf8'));
        session.draft = replaceDestinations(session.draft, parsed.defaults, parsed.entries);
        io.print(`Destination controls imported: ${parsed.entries.length} entries and the default.`);
        return;
      }
      default:
        throw new CommandError(`Unknown operation "${verb}".\nUsage: ${this.usage.join('\n       ')}`);
    }
  },
};
