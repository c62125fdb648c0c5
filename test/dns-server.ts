import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';

export interface TlsaData {
  usage: number;
  selector: number;
  matchingType: number;
  certificate: Buffer;
}

export interface RecordSet {
  MX?: { preference: number; exchange: string }[];
  A?: string[];
  AAAA?: string[];
  PTR?: string[];
  TLSA?: TlsaData[];
  CNAME?: string;
  /** TXT records, each one string or the strings of one record. */
  TXT?: (string | string[])[];
  /** The name's records are DNSSEC-signed: answers made only of secure names carry AD. */
  secure?: boolean;
  /** Every query for this name gets SERVFAIL (a validation failure at the resolver: bogus). */
  servfail?: boolean;
}

export type Records = Record<string, RecordSet>;

export interface TestDnsOptions {
  /** Names under these zones that are not in `records` get a secure NXDOMAIN (AD set). */
  secureZones?: string[];
}

/**
 * An authoritative-and-validating test DNS server on 127.0.0.1 (UDP), standing in for a local
 * validating resolver: AD is set only when every name the answer touches is marked secure (the
 * rule of Exim's fakens), SERVFAIL for names marked servfail, NXDOMAIN for unknown names.
 */
export async function testDnsServer(records: Records, options: TestDnsOptions = {}): Promise<{ port: number; queries: string[]; records: Records; close(): Promise<void> }> {
  const queries: string[] = [];
  const socket = dgram.createSocket('udp4');
  const inSecureZone = (name: string) => (options.secureZones ?? []).some((z) => name === z || name.endsWith(`.${z}`));
  socket.on('message', (msg, rinfo) => {
    const q = dnsPacket.decode(msg);
    const question = q.questions![0]!;
    queries.push(`${question.name} ${question.type}`);
    const answers: dnsPacket.Answer[] = [];
    let name = question.name.toLowerCase();
    let entry = records[name];
    let secure = entry ? entry.secure === true : inSecureZone(name);
    let rcode = entry ? 0 : 3; // 3 = NXDOMAIN
    for (let hops = 0; entry?.CNAME && question.type !== 'CNAME' && hops < 8; hops++) {
      answers.push({ type: 'CNAME', name, ttl: 60, data: entry.CNAME });
      name = entry.CNAME.toLowerCase();
      entry = records[name];
      secure &&= entry ? entry.secure === true : inSecureZone(name);
      rcode = entry ? 0 : 3;
    }
    if (entry?.servfail) rcode = 2;
    else if (entry) {
      const type = question.type as keyof RecordSet;
      if (type === 'MX' || type === 'TLSA') for (const data of entry[type] ?? []) answers.push({ type, name, ttl: 60, data } as dnsPacket.Answer);
      if (type === 'A' || type === 'AAAA' || type === 'PTR') for (const data of entry[type] ?? []) answers.push({ type, name, ttl: 60, data } as dnsPacket.Answer);
      if (type === 'TXT') for (const data of entry.TXT ?? []) answers.push({ type, name, ttl: 60, data: Array.isArray(data) ? data : [data] } as dnsPacket.Answer);
    }
    const response = dnsPacket.encode({
      type: 'response',
      id: q.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED | (secure && rcode !== 2 ? dnsPacket.AUTHENTIC_DATA : 0) | rcode,
      questions: q.questions,
      answers: rcode === 2 ? [] : answers,
    });
    socket.send(response, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, queries, records, close: () => new Promise((r) => socket.close(() => r())) };
}
