import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';

export interface DnsServer {
  host: string;
  port: number;
}

export interface DnsResult {
  rcode: string;
  /** The resolver set AD: the answer was DNSSEC-validated (trust it only from loopback). */
  authentic: boolean;
  answers: dnsPacket.Answer[];
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
  ) {}

  async query(name: string, type: dnsPacket.RecordType): Promise<DnsResult> {
    if (this.servers.length === 0) throw new DnsError('no DNS server is configured');
    const failures: string[] = [];
    for (const server of this.servers) {
      try {
        let packet = await this.udp(server, name, type);
        if (packet.flag_tc) packet = await this.tcp(server, name, type);
        const rcode = (packet as unknown as { rcode: string }).rcode;
        return { rcode, authentic: packet.flag_ad, answers: (packet.answers ?? []).filter((a) => a.type === type || a.type === 'CNAME') };
      } catch (err) {
        failures.push(`${server.host}:${server.port}: ${(err as Error).message}`);
      }
    }
    throw new DnsError(`no answer for ${name} ${type} (${failures.join('; ')})`);
  }

  private request(name: string, type: dnsPacket.RecordType): dnsPacket.Packet & { id: number } {
    return {
      type: 'query',
      id: randomInt(1, 65535),
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.AUTHENTIC_DATA,
      questions: [{ type, name }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: dnsPacket.DNSSEC_OK } as unknown as dnsPacket.Answer],
    };
  }

  private udp(server: DnsServer, name: string, type: dnsPacket.RecordType): Promise<dnsPacket.DecodedPacket> {
    const req = this.request(name, type);
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket(net.isIP(server.host) === 6 ? 'udp6' : 'udp4');
      const timer = setTimeout(() => finish(new DnsError('timed out')), this.timeoutMs);
      const finish = (err?: Error, packet?: dnsPacket.DecodedPacket) => {
        clearTimeout(timer);
        socket.close();
        if (err) reject(err);
        else resolve(packet!);
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
        finish(undefined, packet);
      });
      socket.send(dnsPacket.encode(req), server.port, server.host);
    });
  }

  private tcp(server: DnsServer, name: string, type: dnsPacket.RecordType): Promise<dnsPacket.DecodedPacket> {
    const req = this.request(name, type);
    return new Promise((resolve, reject) => {
      const socket = net.connect(server.port, server.host);
      let buffer = Buffer.alloc(0);
      const timer = setTimeout(() => finish(new DnsError('timed out (TCP)')), this.timeoutMs);
      const finish = (err?: Error, packet?: dnsPacket.DecodedPacket) => {
        clearTimeout(timer);
        socket.destroy();
        if (err) reject(err);
        else resolve(packet!);
      };
      socket.on('connect', () => socket.write(dnsPacket.streamEncode(req)));
      socket.on('error', (err) => finish(new DnsError(err.message)));
      socket.on('data', (d: Buffer) => {
        buffer = Buffer.concat([buffer, d]);
        if (buffer.length < 2 || buffer.length < 2 + buffer.readUInt16BE(0)) return;
        try {
          finish(undefined, dnsPacket.streamDecode(buffer) as dnsPacket.DecodedPacket);
        } catch {
          finish(new DnsError('malformed answer (TCP)'));
        }
      });
    });
  }
}
