import { type Command, noMoreWords, parseOptions } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { daneResolverWarning, setDnsServers } from '../../store/network/routing.js';
import { addTrustAnchor, anchorZone, deleteTrustAnchor, parseTrustAnchor, setValidation } from '../../store/network/trustAnchors.js';

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
    'dnsconfig',
  ],
  details: [
    'validation builtin (the default): the engine validates DNSSEC itself from its trust anchors (the IANA',
    'root KSKs unless changed), asking the resolvers with checking disabled; any resolver that passes',
    'DNSSEC records on will do. validation resolver: the engine trusts the AD bit of the resolver, and',
    'only from resolvers on loopback (127.0.0.0/8, ::1), as Postfix does.',
    'trustanchor: add private roots (or a new root key before a rollover), delete one by its key tag.',
  ],
  keywords: ['servers', 'validation', 'trustanchor', 'builtin', 'resolver', 'add', 'delete', 'print'],
  async run(session, args) {
    const [verb, ...rest] = args;
    if (verb === undefined) {
      const dns = session.draft.dns;
      session.io.print(
        `DNS servers: ${dns.servers.length ? dns.servers.join(', ') : 'the system resolvers'}`,
        `DNSSEC validation: ${dns.validation === 'builtin' ? 'builtin (the engine validates)' : 'resolver (the AD bit of a loopback resolver)'}`,
        `Trust anchors: ${dns.trustAnchors.length} (dnsconfig trustanchor print)`,
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
