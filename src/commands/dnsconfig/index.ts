import { type Command, noMoreWords, parseOptions } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { daneResolverWarning, setDnsServers } from '../../store/network/routing.js';
import { addTrustAnchor, anchorZone, deleteTrustAnchor, parseTrustAnchor, setValidation } from '../../store/network/trustAnchors.js';
import { storeTsigKey } from '../../store/certificates/keys.js';
import { deleteUpdateServer, parseTsigKey, setUpdateServer } from '../../store/network/updateServers.js';
import { readConfigFile } from '../files.js';
import { canonicalName } from '../../store/domainMatch.js';

/** dnsconfig: the resolvers the engine asks, who validates DNSSEC (the engine or the resolver), and the trust anchors. */
export const dnsconfig: Command = {
  name: 'dnsconfig',
  summary: 'Choose the DNS resolvers and how DNSSEC is validated',
  usage: [
    'dnsconfig servers ADDR[:PORT][,ADDR[:PORT]…]',
    'dnsconfig servers system',
    'dnsconfig validation builtin|resolver',
    'dnsconfig trustanchor add --ds "NAME [TTL] IN DS TAG ALG DIGESTTYPE HEX"',
    'dnsconfig trustanchor add --dnskey "NAME [TTL] IN DNSKEY FLAGS 3 ALG BASE64"',
    'dnsconfig trustanchor delete KEYTAG',
    'dnsconfig trustanchor print',
    'dnsconfig update-server ZONE ADDR[:PORT] --tsig-key-file FILE',
    'dnsconfig update-server delete ZONE',
    'dnsconfig',
  ],
  details: [
    'validation builtin (the default): the engine validates DNSSEC itself from its trust anchors (the IANA',
    'root KSKs unless changed), asking the resolvers with checking disabled; any resolver that passes',
    'DNSSEC records on will do. validation resolver: the engine trusts the AD bit of the resolver, and',
    'only from resolvers on loopback (127.0.0.0/8, ::1), as Postfix does.',
    'trustanchor: add private roots (or a new root key before a rollover), delete one by its key tag.',
    'update-server: the primary of ZONE that takes the appliance\'s dynamic updates (RFC 2136), for ACME',
    'DNS-01 records and TLSA records of a new key; they are signed with the HMAC-SHA256 TSIG key in FILE',
    '(in the configuration directory; as "keymgr -t NAME hmac-sha256" or "tsig-keygen" write it). The key',
    'is kept with the private keys (mode 0600) and never shown; the file can be deleted afterwards.',
  ],
  keywords: ['servers', 'validation', 'trustanchor', 'update-server', 'builtin', 'resolver', 'add', 'delete', 'print'],
  async run(session, args) {
    const [verb, ...rest] = args;
    if (verb === undefined) {
      const dns = session.draft.dns;
      session.io.print(
        `DNS servers: ${dns.servers.length ? dns.servers.join(', ') : 'the system resolvers'}`,
        `DNSSEC validation: ${dns.validation === 'builtin' ? 'builtin (the engine validates)' : 'resolver (the AD bit of a loopback resolver)'}`,
        `Trust anchors: ${dns.trustAnchors.length} (dnsconfig trustanchor print)`,
        ...(dns.updateServers.length ? dns.updateServers.map((u) => `Update server for ${u.zone}: ${u.server}, TSIG key ${u.keyName}`) : ['Update servers: none']),
      );
      return;
    }
    switch (verb.toLowerCase()) {
      case 'servers': {
        const [list, ...extra] = rest;
        noMoreWords(this, extra);
        if (!list) throw new CommandError(`Usage: ${this.usage.join('\n       ')}`);
        const servers = list.toLowerCase() === 'system' ? [] : list.split(',').map((s) => s.trim()).filter(Boolean);
        session.draft = setDnsServers(session.draft, servers);
        session.io.print(`DNS servers: ${servers.length ? servers.join(', ') : 'the system resolvers'} (after "commit").`);
        break;
      }
      case 'validation': {
        const [mode, ...extra] = rest;
        noMoreWords(this, extra);
        const m = mode?.toLowerCase();
        if (m !== 'builtin' && m !== 'resolver') throw new CommandError('Give "dnsconfig validation builtin" (the engine validates DNSSEC) or "dnsconfig validation resolver" (it trusts a loopback resolver\'s AD bit).');
        session.draft = setValidation(session.draft, m);
        session.io.print(`DNSSEC validation: ${m} (after "commit").`);
        break;
      }
      case 'trustanchor':
        return trustAnchor(this, session, rest);
      case 'update-server':
        return updateServer(this, session, rest);
      default:
        throw new CommandError(`Usage: ${this.usage.join('\n       ')}`);
    }
    const warning = daneResolverWarning(session.draft);
    if (warning) session.io.warn(warning);
  },
};

async function trustAnchor(command: Command, session: Parameters<Command['run']>[0], args: string[]): Promise<void> {
  const [action, ...rest] = args;
  switch (action?.toLowerCase()) {
    case 'print': {
      noMoreWords(command, rest);
      const lines = session.draft.dns.trustAnchors;
      const described = lines.map((l) => {
        const a = parseTrustAnchor(l);
        return `${l}    ; ${anchorZone(a)} key tag ${a.keyTag}`;
      });
      session.io.print(...(described.length ? described : ['No trust anchors: every DNSSEC answer counts as insecure.']));
      return;
    }
    case 'add': {
      const { values, positionals } = parseOptions(command, rest, { ds: { type: 'string' }, dnskey: { type: 'string' } });
      noMoreWords(command, positionals);
      const text = values.ds ?? values.dnskey;
      if (!text || (values.ds && values.dnskey)) throw new CommandError('Give one record: --ds "NAME IN DS …" or --dnskey "NAME IN DNSKEY …".');
      const anchor = parseTrustAnchor(text);
      if ((values.ds ? 'DS' : 'DNSKEY') !== anchor.kind) throw new CommandError(`--${values.ds ? 'ds' : 'dnskey'} takes a ${values.ds ? 'DS' : 'DNSKEY'} record; this is a ${anchor.kind} record.`);
      session.draft = addTrustAnchor(session.draft, text);
      session.io.print(`Trust anchor for ${anchorZone(anchor)} (key tag ${anchor.keyTag}) added (after "commit").`);
      return;
    }
    case 'delete': {
      const [tag, ...extra] = rest;
      noMoreWords(command, extra);
      if (!tag || !/^\d{1,5}$/.test(tag) || Number(tag) > 65535) throw new CommandError('Give the key tag of the anchor to delete (dnsconfig trustanchor print lists them).');
      session.draft = deleteTrustAnchor(session.draft, Number(tag));
      session.io.print(`Trust anchor ${tag} deleted (after "commit").${session.draft.dns.trustAnchors.length ? '' : ' There are no trust anchors left: every DNSSEC answer will count as insecure.'}`);
      return;
    }
    default:
      throw new CommandError(`Usage: ${command.usage.filter((u) => u.includes('trustanchor')).join('\n       ')}`);
  }
}

async function updateServer(command: Command, session: Parameters<Command['run']>[0], args: string[]): Promise<void> {
  const usage = () => new CommandError(`Usage: ${command.usage.filter((u) => u.includes('update-server')).join('\n       ')}`);
  if (args[0]?.toLowerCase() === 'delete') {
    const [, zone, ...extra] = args;
    noMoreWords(command, extra);
    if (!zone) throw usage();
    session.draft = deleteUpdateServer(session.draft, zone);
    session.io.print(`The update server for ${zone.toLowerCase()} is deleted (after "commit").`);
    return;
  }
  const { values, positionals } = parseOptions(command, args, { 'tsig-key-file': { type: 'string' } });
  const [zone, server, ...extra] = positionals;
  noMoreWords(command, extra);
  if (!zone || !server) throw usage();
  const file = values['tsig-key-file'];
  if (!file) throw new CommandError('Give the TSIG key that signs the updates: --tsig-key-file FILE (the zone\'s primary must accept updates signed with it).');
  const key = parseTsigKey((await readConfigFile(session, file)).toString('utf8'));
  // Validate the edit before the key reaches the disk; the key is stored by content, so this is idempotent.
  setUpdateServer(session.draft, zone, server, { name: key.name, ref: 'tsig-' + '0'.repeat(64) });
  const ref = await storeTsigKey(session.paths, key);
  session.draft = setUpdateServer(session.draft, zone, server, { name: key.name, ref });
  const entry = session.draft.dns.updateServers.find((u) => u.zone === canonicalName(zone))!;
  session.io.print(`Updates to ${entry.zone} go to ${entry.server}, signed with TSIG key ${key.name} (after "commit").`);
}
