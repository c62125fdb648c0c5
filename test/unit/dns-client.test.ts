import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, test } from 'node:test';
import dnsPacket from 'dns-packet';
import { DnsClient, DnsError, parseServer } from '../../src/engine/dns/client.js';

/** A resolver double: UDP answers are truncated for "big.test" (TCP then answers), AD set for "signed.test". */
let udp: dgram.Socket;
let tcp: net.Server;
let port: number;

function answer(query: dnsPacket.DecodedPacket, truncated: boolean): Buffer {
  const q = query.questions![0]!;
  const known = ['big.test', 'signed.test', 'plain.test'].includes(q.name);
  return dnsPacket.encode({
    type: 'response',
    id: query.id,
    flags: (known ? 0 : 3) | (truncated ? dnsPacket.TRUNCATED_RESPONSE : 0) | (q.name === 'signed.test' ? dnsPacket.AUTHENTIC_DATA : 0),
    questions: query.questions,
    answers: known && !truncated ? [{ type: 'A', name: q.name, ttl: 60, data: '127.0.0.9' }] : [],
  });
}

before(async () => {
  udp = dgram.createSocket('udp4');
  udp.on('message', (msg, r) => {
    const q = dnsPacket.decode(msg) as dnsPacket.DecodedPacket;
    udp.send(answer(q, q.questions![0]!.name === 'big.test'), r.port, r.address);
  });
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  port = udp.address().port;
  tcp = net.createServer((s) =>
    s.on('data', (d) => {
      const reply = answer(dnsPacket.decode(d.subarray(2)) as dnsPacket.DecodedPacket, false);
      const length = Buffer.alloc(2);
      length.writeUInt16BE(reply.length);
      s.end(Buffer.concat([length, reply]));
    }),
  );
  await new Promise<void>((resolve) => tcp.listen(port, '127.0.0.1', resolve));
});
after(() => {
  udp.close();
  tcp.close();
});

test('answers, NXDOMAIN and the AD bit are reported as they came', async () => {
  const client = new DnsClient([{ host: '127.0.0.1', port }]);
  const plain = await client.query('plain.test', 'A');
  assert.equal(plain.rcode, 'NOERROR');
  assert.equal(plain.authentic, false);
  assert.deepEqual(plain.answers.map((a) => (a as { data: string }).data), ['127.0.0.9']);
  assert.equal((await client.query('signed.test', 'A')).authentic, true);
  assert.equal((await client.query('nothere.test', 'A')).rcode, 'NXDOMAIN');
});

test('a truncated UDP answer is asked again over TCP', async () => {
  const big = await new DnsClient([{ host: '127.0.0.1', port }]).query('big.test', 'A');
  assert.equal(big.answers.length, 1);
});

test('a silent server times out and the next one answers; with none answering the error says so', async () => {
  const silent = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
  try {
    const client = new DnsClient([{ host: '127.0.0.1', port: silent.address().port }, { host: '127.0.0.1', port }], 300);
    assert.equal((await client.query('plain.test', 'A')).rcode, 'NOERROR');
    await assert.rejects(new DnsClient([{ host: '127.0.0.1', port: silent.address().port }], 200).query('plain.test', 'A'), DnsError);
  } finally {
    silent.close();
  }
  assert.deepEqual(parseServer('127.0.0.1:5353'), { host: '127.0.0.1', port: 5353 });
  assert.deepEqual(parseServer('[::1]:53'), { host: '::1', port: 53 });
  assert.deepEqual(parseServer('::1'), { host: '::1', port: 53 });
});
