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
  tcp = net.createServer((s) =>
    s.on('data', (d) => {
      const reply = answer(dnsPacket.decode(d.subarray(2)) as dnsPacket.DecodedPacket, false);
      const length = Buffer.alloc(2);
      length.writeUInt16BE(reply.length);
      s.end(Buffer.concat([length, reply]));
    }),
  );
  // UDP and TCP on one port number: a port free for one may be taken for the other (another test
  // file's server), so a clash is tried again with a new port instead of waiting for ever.
  for (let attempt = 1; ; attempt++) {
    await new Promise<void>((resolve, reject) => tcp.once('error', reject).listen(0, '127.0.0.1', resolve));
    port = (tcp.address() as net.AddressInfo).port;
    udp = dgram.createSocket('udp4');
    const bound = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, '127.0.0.1', () => resolve(true));
    });
    if (bound) break;
    udp.close();
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
    if (attempt === 10) throw new Error('no port free for both UDP and TCP');
  }
  udp.on('message', (msg, r) => {
    const q = dnsPacket.decode(msg) as dnsPacket.DecodedPacket;
    udp.send(answer(q, q.questions![0]!.name === 'big.test'), r.port, r.address);
  });
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

test('DNSSEC status: AD from a loopback resolver is secure; without AD insecure; SERVFAIL and no answer are bogus', async () => {
  const { testDnsServer } = await import('../dns-server.js');
  const { securityOf } = await import('../../src/engine/dns/client.js');
  const { isLoopback } = await import('../../src/store/network/routing.js');
  const dns = await testDnsServer(
    {
      'signed.example': { A: ['127.0.0.5'], secure: true },
      'plain.example': { A: ['127.0.0.6'] },
      'broken.example': { servfail: true, secure: true },
      'alias.signed.example': { CNAME: 'signed.example', secure: true },
      'alias.mixed.example': { CNAME: 'signed.example' },
    },
    { secureZones: ['signed.example'] },
  );
  try {
    const client = new DnsClient([{ host: '127.0.0.1', port: dns.port }], 500);
    const signed = await client.lookup('signed.example', 'A');
    assert.equal(signed.security, 'secure');
    assert.deepEqual(signed.records.map((r) => (r as { data: string }).data), ['127.0.0.5']);
    assert.equal((await client.lookup('plain.example', 'A')).security, 'insecure');
    const denial = await client.lookup('nothing.signed.example', 'A');
    assert.equal(denial.security, 'secure');
    assert.equal(denial.rcode, 'NXDOMAIN');
    const broken = await client.lookup('broken.example', 'A');
    assert.equal(broken.security, 'bogus', 'SERVFAIL is never read as insecure');
    assert.match(broken.reason ?? '', /SERVFAIL/);
    const alias = await client.lookup('alias.signed.example', 'A');
    assert.equal(alias.security, 'secure');
    assert.equal(alias.canonical, 'signed.example');
    assert.equal((await client.lookup('alias.mixed.example', 'A')).security, 'insecure', 'an unsigned link in the chain makes the answer insecure');
    const silent = new DnsClient([{ host: '127.0.0.1', port: 1 }], 200);
    const timedOut = await silent.lookup('signed.example', 'A');
    assert.equal(timedOut.security, 'bogus');
    assert.equal(timedOut.rcode, 'FAILED');
    // AD is trusted only from loopback: the same answer from another resolver counts as insecure.
    assert.equal(securityOf({ rcode: 'NOERROR', authentic: true, answers: [], server: { host: '192.0.2.53', port: 53 } }), 'insecure');
    assert.equal(securityOf({ rcode: 'NOERROR', authentic: true, answers: [], server: { host: '::1', port: 53 } }), 'secure');
    assert.equal(isLoopback('127.8.9.10'), true);
    assert.equal(isLoopback('10.0.0.1'), false);
  } finally {
    await dns.close();
  }
});

test('every lookup tells the engine its DNSSEC status (the mxgate_dnssec_lookups_total counts)', async () => {
  const { testDnsServer } = await import('../dns-server.js');
  const { EngineMetrics } = await import('../../src/engine/metrics/engineMetrics.js');
  const { defaultConfig } = await import('../../src/store/schema.js');
  const dns = await testDnsServer({ 'signed.example': { A: ['127.0.0.5'], secure: true }, 'plain.example': { A: ['127.0.0.6'] }, 'broken.example': { servfail: true, secure: true } }, { secureZones: ['signed.example'] });
  const metrics = new EngineMetrics({ config: () => defaultConfig(), queue: () => ({ messages: 0, bytes: 0 }), oldestReceivedAt: () => undefined, workers: () => ({ wanted: 0, running: 0, exits: 0 }) });
  try {
    const client = new DnsClient([{ host: '127.0.0.1', port: dns.port }], 500, undefined, undefined, metrics.dnsLookup);
    await client.lookup('signed.example', 'A');
    await client.lookup('plain.example', 'A');
    await client.lookup('plain.example', 'A');
    await client.lookup('broken.example', 'A');
    const { text } = await metrics.exposition();
    assert.match(text, /^mxgate_dnssec_lookups_total\{result="secure"\} 1$/m);
    assert.match(text, /^mxgate_dnssec_lookups_total\{result="insecure"\} 2$/m);
    assert.match(text, /^mxgate_dnssec_lookups_total\{result="bogus"\} 1$/m);
  } finally {
    await dns.close();
  }
});
