import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { isLoopback } from '../../store/network/routing.js';
import { type CachedAnswer, cacheTtl, type DnsCache } from './cache.js';
import type { TrustAnchor } from '../../store/network/trustAnchors.js';
import type { Rr } from './dnssec/records.js';
import { Validator } from './dnssec/validator.js';

export interface DnsServer {
  host: string;
  port: number;
}

export interface DnsResult {
  rcode: string;
  /** The resolver set AD: the answer was DNSSEC-validated (trust it only from loopback). */
  authentic: boolean;
  answers: dnsPacket.Answer[];
  /** The server that answered. */
  server: DnsServer;
}

/**
 * What an answer is worth for DNSSEC decisions (DANE):
 * - secure: NOERROR or NXDOMAIN with AD set by a validating resolver on loopback;
 * - insecure: NOERROR or NXDOMAIN without AD, or with AD from a resolver we cannot trust;
 * - bogus: anything else (SERVFAIL, REFUSED, timeout, malformed answer): the lookup failed,
 *   which is never read as "insecure".
 */
export type DnsSecurity = 'secure' | 'insecure' | 'bogus';

/** A whole answer, as the validator reads it. */
export interface RawAnswer {
  rcode: string;
  answers: dnsPacket.Answer[];
  authorities: dnsPacket.Answer[];
  server: DnsServer;
}

/** An answer that always arrives: failures are `bogus` with their reason, never thrown. */
export interface DnsLookup {
  security: DnsSecurity;
  /** NOERROR, NXDOMAIN, SERVFAIL, …, or FAILED when no server answered. */
  rcode: string;
  /** Records of the asked type. */
  records: dnsPacket.Answer[];
  /** The name the records belong to after the CNAME chain in the answer (the asked name when none). */
  canonical: string;
  /** Why the lookup failed (bogus only). */
  reason?: string;
  /** Why it is insecure, when the engine's validator says (e.g. an unsigned delegation). */
  note?: string;
  /** What the engine's validator checked, step by step (daneverify at debug level). */
  chain?: string[];
}

/** AD is trusted only from a resolver on this machine (`isLoopback`), as Postfix and maddy do. */
export function securityOf(result: DnsResult): DnsSecurity {
  if (result.rcode !== 'NOERROR' && result.rcode !== 'NXDOMAIN') return 'bogus';
  return result.authentic && isLoopback(result.server.host) ? 'secure' : 'insecure';
}

/** Follow the CNAME records of an answer from `name` to the owner of the final records. */
export function canonicalName(name: string, answers: dnsPacket.Answer[]): string {
  let current = name.toLowerCase().replace(/\.$/, '');
  for (let hops = 0; hops < 16; hops++) {
    const cname = answers.find((a) => a.type === 'CNAME' && a.name.toLowerCase().replace(/\.$/, '') === current) as { data: string } | undefined;
    if (!cname) break;
    current = cname.data.toLowerCase().replace(/\.$/, '');
  }
  return current;
}

/** A decoded answer and the size of its message. */
interface Reply {
  packet: dnsPacket.DecodedPacket;
  size: number;
}

export class DnsError extends Error {
  override name = 'DnsError';
}

export function parseServer(spec: string): DnsServer {
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(spec);
  if (bracket) return { host: bracket[1]!, port: Number(bracket[2] ?? 53) };
  if (net.isIP(spec) === 6) return { host: spec, port: 53 };
  const [host, port] = spec.split(':');
  return { host: host!, port: Number(port ?? 53) };
}

/**
 * A small DNS client over dns-packet: UDP with the DO bit, TCP when the answer is truncated,
 * servers tried in order. It reports the response code and the AD bit, so callers can tell
 * "no such record" from "lookup failed" and, for DANE, secure from insecure answers.
 */
export class DnsClient {
  constructor(
    private readonly servers: DnsServer[],
    private readonly timeoutMs = 3000,
    /** The engine's cache (cache.ts); without one every query is asked. */
    private readonly cache?: DnsCache<unknown>,
    /** dnsconfig validation builtin: the engine's own DNSSEC validator judges every lookup. */
    private readonly anchors?: TrustAnchor[],
    /** Told the DNSSEC status of every lookup (the engine's metrics). */
    private readonly observe?: (security: DnsSecurity) => void,
  ) {
    if (anchors) this.validator = new Validator(anchors, (name, type) => this.packet(name, type as dnsPacket.RecordType) as Promise<{ rcode: string; answers: Rr[]; authorities: Rr[] }>);
  }

  private readonly validator: Validator | undefined;

  async query(name: string, type: dnsPacket.RecordType): Promise<DnsResult> {
    const { rcode, answers, server, authentic } = await this.ask(name, type, false);
    return { rcode, authentic, answers: answers.filter((a) => a.type === type || a.type === 'CNAME'), server };
  }

  /**
   * The servers' answer, from the cache while it lasts, else asked of them in order (UDP, TCP when
   * truncated). With checking disabled (CD) the resolver passes records it could not validate on,
   * for the engine's own validator; the two kinds are cached apart.
   */
  private ask(name: string, type: dnsPacket.RecordType, checkingDisabled: boolean): Promise<RawAnswer & { authentic: boolean }> {
    if (this.servers.length === 0) return Promise.reject(new DnsError('no DNS server is configured'));
    if (!this.cache) return this.exchange(name, type, checkingDisabled).then((a) => a.value);
    const key = `${checkingDisabled ? 'cd ' : ''}${this.servers.map((s) => `${s.host}:${s.port}`).join(',')} ${name.toLowerCase().replace(/\.$/, '')} ${type}`;
    return this.cache.get(key, () => this.exchange(name, type, checkingDisabled)) as Promise<RawAnswer & { authentic: boolean }>;
  }

  private async exchange(name: string, type: dnsPacket.RecordType, checkingDisabled: boolean): Promise<CachedAnswer<RawAnswer & { authentic: boolean }>> {
    const failures: string[] = [];
    for (const server of this.servers) {
      try {
        let reply = await this.udp(server, name, type, checkingDisabled);
        if (reply.packet.flag_tc) reply = await this.tcp(server, name, type, checkingDisabled);
        const { packet, size } = reply;
        const value = { rcode: (packet as unknown as { rcode: string }).rcode, authentic: packet.flag_ad, answers: packet.answers ?? [], authorities: packet.authorities ?? [], server };
        return { value, size, ttl: cacheTtl(value, type, Math.floor(Date.now() / 1000)) };
      } catch (err) {
        failures.push(`${server.host}:${server.port}: ${(err as Error).message}`);
      }
    }
    throw new DnsError(`no answer for ${name} ${type} (${failures.join('; ')})`);
  }

  /** `query`, with the answer's DNSSEC status; a failure is a `bogus` answer, not an exception. */
  async lookup(name: string, type: dnsPacket.RecordType): Promise<DnsLookup> {
    const answer = await this.judgedLookup(name, type);
    this.observe?.(answer.security);
    return answer;
  }

  private async judgedLookup(name: string, type: dnsPacket.RecordType): Promise<DnsLookup> {
    if (this.validator) return this.validatedLookup(name, type);
    let result: DnsResult;
    try {
      result = await this.query(name, type);
    } catch (err) {
      return { security: 'bogus', rcode: 'FAILED', records: [], canonical: name.toLowerCase(), reason: (err as Error).message };
    }
    const security = securityOf(result);
    return {
      security,
      rcode: result.rcode,
      records: result.rcode === 'NOERROR' ? result.answers.filter((a) => a.type === type) : [],
      canonical: canonicalName(name, result.answers),
      ...(security === 'bogus' ? { reason: `${name} ${type}: ${result.rcode}` } : {}),
    };
  }

  /**
   * The validator's verdict as a lookup. Bogus and indeterminate are both `bogus` (never read as
   * insecure); records that failed validation are still given, so a destination without DANE is
   * served as by any non-validating MTA, while DANE refuses every host they lead to.
   */
  private async validatedLookup(name: string, type: dnsPacket.RecordType): Promise<DnsLookup> {
    const v = await this.validator!.lookup(name, type);
    const failed = v.security === 'bogus' || v.security === 'indeterminate';
    return {
      security: failed ? 'bogus' : (v.security as 'secure' | 'insecure'),
      rcode: v.rcode,
      records: v.rcode !== 'NOERROR' ? [] : (v.records as unknown as dnsPacket.Answer[]),
      canonical: v.canonical,
      ...(failed ? { reason: v.reason ?? `${name} ${type}: ${v.security}` } : {}),
      ...(v.reason && !failed ? { note: v.reason } : {}),
      chain: v.chain,
    };
  }

  /**
   * The whole answer with checking disabled (CD): the records, their RRSIGs and the authority
   * section's NSEC/NSEC3 and SOA, for the engine's own validator (dnssec/validator.ts).
   */
  async packet(name: string, type: dnsPacket.RecordType): Promise<RawAnswer> {
    const { rcode, answers, authorities, server } = await this.ask(name, type, true);
    return { rcode, answers, authorities, server };
  }

  private request(name: string, type: dnsPacket.RecordType, checkingDisabled: boolean): dnsPacket.Packet & { id: number } {
    return {
      type: 'query',
      id: randomInt(1, 65535),
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.AUTHENTIC_DATA | (checkingDisabled ? dnsPacket.CHECKING_DISABLED : 0),
      questions: [{ type, name }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: dnsPacket.DNSSEC_OK } as unknown as dnsPacket.Answer],
    };
  }

  private udp(server: DnsServer, name: string, type: dnsPacket.RecordType, checkingDisabled: boolean): Promise<Reply> {
    const req = this.request(name, type, checkingDisabled);
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket(net.isIP(server.host) === 6 ? 'udp6' : 'udp4');
      const timer = setTimeout(() => finish(new DnsError('timed out')), this.timeoutMs);
      const finish = (err?: Error, packet?: dnsPacket.DecodedPacket, size = 0) => {
        clearTimeout(timer);
        socket.close();
        if (err) reject(err);
        else resolve({ packet: packet!, size });
      };
      socket.on('error', (err) => finish(new DnsError(err.message)));
      socket.on('message', (msg) => {
        let packet: dnsPacket.DecodedPacket;
        try {
          packet = dnsPacket.decode(msg) as dnsPacket.DecodedPacket;
        } catch {
          return finish(new DnsError('malformed answer'));
        }
        if (packet.id !== req.id) return; // not ours: keep waiting
        finish(undefined, packet, msg.length);
      });
      socket.send(dnsPacket.encode(req), server.port, server.host);
    });
  }

  private tcp(server: DnsServer, name: string, type: dnsPacket.RecordType, checkingDisabled: boolean): Promise<Reply> {
    const req = this.request(name, type, checkingDisabled);
    return new Promise((resolve, reject) => {
      const socket = net.connect(server.port, server.host);
      let buffer = Buffer.alloc(0);
      const timer = setTimeout(() => finish(new DnsError('timed out (TCP)')), this.timeoutMs);
      const finish = (err?: Error, packet?: dnsPacket.DecodedPacket, size = 0) => {
        clearTimeout(timer);
        socket.destroy();
        if (err) reject(err);
        else resolve({ packet: packet!, size });
      };
      socket.on('connect', () => socket.write(dnsPacket.streamEncode(req)));
      socket.on('error', (err) => finish(new DnsError(err.message)));
      socket.on('data', (d: Buffer) => {
        buffer = Buffer.concat([buffer, d]);
        if (buffer.length < 2 || buffer.length < 2 + buffer.readUInt16BE(0)) return;
        try {
          finish(undefined, dnsPacket.streamDecode(buffer) as dnsPacket.DecodedPacket, buffer.length);
        } catch {
          finish(new DnsError('malformed answer (TCP)'));
        }
      });
    });
  }
}

/** The text of a TXT record: its strings joined (RFC 7208 §3.3, RFC 8461 §3.1). */
export function txtText(record: dnsPacket.Answer): string {
  const data = (record as { data: Buffer | string | (Buffer | string)[] }).data;
  return (Array.isArray(data) ? data : [data]).map((b) => b.toString()).join('');
}

/** The first IPv4 (else IPv6) address of a host through this client; throws DnsError naming both failures. */
export async function addressOf(client: DnsClient, host: string): Promise<string> {
  const problems: string[] = [];
  for (const type of ['A', 'AAAA'] as const) {
    const answer = await client.lookup(host, type);
    const address = answer.records.map((r) => (r as { data: unknown }).data).find((d): d is string => typeof d === 'string' && net.isIP(d) !== 0);
    if (address) return address;
    problems.push(`${type}: ${answer.reason ?? answer.rcode}`);
  }
  throw new DnsError(`${host} has no address (${problems.join(', ')})`);
}
