import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';

type Records = Record<string, { MX?: { preference: number; exchange: string }[]; A?: string[]; AAAA?: string[]; PTR?: string[] }>;

/** An authoritative test DNS server on 127.0.0.1 (UDP): NXDOMAIN for unknown names. */
export async function testDnsServer(records: Records): Promise<{ port: number; queries: string[]; close(): Promise<void> }> {
  const queries: string[] = [];
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    const q = dnsPacket.decode(msg);
    const question = q.questions![0]!;
    queries.push(`${question.name} ${question.type}`);
    const entry = records[question.name.toLowerCase()];
    const answers: dnsPacket.Answer[] = [];
    if (entry && question.type === 'MX') for (const mx of entry.MX ?? []) answers.push({ type: 'MX', name: question.name, ttl: 60, data: mx });
    if (entry && question.type === 'A') for (const a of entry.A ?? []) answers.push({ type: 'A', name: question.name, ttl: 60, data: a });
    if (entry && question.type === 'PTR') for (const p of entry.PTR ?? []) answers.push({ type: 'PTR', name: question.name, ttl: 60, data: p });
    if (entry && question.type === 'AAAA') for (const a of entry.AAAA ?? []) answers.push({ type: 'AAAA', name: question.name, ttl: 60, data: a });
    const response = dnsPacket.encode({
      type: 'response',
      id: q.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (entry ? 0 : 3), // rcode 3 = NXDOMAIN
      questions: q.questions,
      answers,
    });
    socket.send(response, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, queries, close: () => new Promise((r) => socket.close(() => r())) };
}
