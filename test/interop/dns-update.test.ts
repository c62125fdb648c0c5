import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { DnsClient } from '../../src/engine/dns/client.js';
import { DnsUpdateError, sendUpdate, tlsaRdata, txtRdata } from '../../src/engine/dns/update.js';
import { type KnotPrimary, startKnot } from '../knot.js';

/**
 * RFC 2136 dynamic updates signed with TSIG (HMAC-SHA256), judged by Knot DNS as the zone's primary:
 * records are added and removed one by one or as an RRset, and a wrong secret, an unknown key, no
 * key or a zone the server does not serve are refused with what the server said, changing nothing.
 */
const key = { name: 'mxgate-update', secret: randomBytes(32) };
/** The TSIG record a request ends with: owner, type, class, TTL, RDLENGTH, then hmac-sha256's name, time, fudge, MAC size, MAC, id, error, other length. */
const TSIG_LENGTH = key.name.length + 2 + 10 + (13 + 6 + 2 + 2 + 32 + 2 + 2 + 2);
let knot: KnotPrimary;
let dns: DnsClient;

before(async () => {
  knot = await startKnot([{ name: 'upd.lab', records: ['mx IN A 127.0.0.1'] }], key);
  dns = new DnsClient([{ host: knot.host, port: knot.port }], 2000);
});
after(async () => {
  await knot?.close();
});

const server = () => ({ host: knot.host, port: knot.port });
const spki = (n: number) => Buffer.alloc(32, n);
const tlsaOf = async (name: string) =>
  (await dns.query(name, 'TLSA')).answers.map((a) => {
    const d = (a as unknown as { data: { usage: number; selector: number; matchingType: number; certificate: Buffer } }).data;
    return `${d.usage} ${d.selector} ${d.matchingType} ${Buffer.from(d.certificate).toString('hex').slice(0, 4)}`;
  });
const txtOf = async (name: string) => (await dns.query(name, 'TXT')).answers.map((a) => ((a as unknown as { data: Buffer[] }).data).map((b) => b.toString()).join(''));

test('a signed update adds TLSA and TXT records; one record or a whole RRset is deleted', async () => {
  const owner = '_25._tcp.mx.upd.lab';
  await sendUpdate(server(), 'upd.lab', [
    { op: 'add', name: owner, type: 'TLSA', ttl: 300, rdata: tlsaRdata(3, 1, 1, spki(1)) },
    { op: 'add', name: owner, type: 'TLSA', ttl: 300, rdata: tlsaRdata(3, 1, 1, spki(2)) },
    { op: 'add', name: '_acme-challenge.mx.upd.lab', type: 'TXT', ttl: 60, rdata: txtRdata('token-1') },
  ], key);
  assert.deepEqual((await tlsaOf(owner)).sort(), ['3 1 1 0101', '3 1 1 0202']);
  assert.deepEqual(await txtOf('_acme-challenge.mx.upd.lab'), ['token-1']);
  // The old key's record goes; the new one stays (the last step of a TLSA rollover).
  await sendUpdate(server(), 'upd.lab', [{ op: 'delete', name: owner, type: 'TLSA', rdata: tlsaRdata(3, 1, 1, spki(1)) }], key);
  assert.deepEqual(await tlsaOf(owner), ['3 1 1 0202']);
  await sendUpdate(server(), 'upd.lab', [{ op: 'delete', name: '_acme-challenge.mx.upd.lab', type: 'TXT' }], key);
  assert.equal((await dns.query('_acme-challenge.mx.upd.lab', 'TXT')).rcode, 'NXDOMAIN');
});

test('refused updates say why and change nothing: wrong secret, unknown key, no key, another zone', async () => {
  const owner = '_25._tcp.refused.upd.lab';
  const add = [{ op: 'add' as const, name: owner, type: 'TLSA', ttl: 300, rdata: tlsaRdata(3, 1, 1, spki(9)) }];
  const cases: [string, () => Promise<void>, RegExp][] = [
    ['wrong secret', () => sendUpdate(server(), 'upd.lab', add, { name: key.name, secret: randomBytes(32) }), /refused: BADSIG: the server has a key of that name, but the secret differs/],
    ['unknown key', () => sendUpdate(server(), 'upd.lab', add, { name: 'someone-else', secret: key.secret }), /refused: BADKEY: the server knows no key of that name/],
    ['no key', () => sendUpdate(server(), 'upd.lab', add), /refused: (REFUSED|NOTAUTH)/],
    ['another zone', () => sendUpdate(server(), 'other.lab', [{ ...add[0]!, name: '_25._tcp.mx.other.lab' }], key), /update of other\.lab at 127\.0\.0\.1:\d+ refused: (NOTAUTH|REFUSED)/],
    ['a name outside the zone', () => sendUpdate(server(), 'upd.lab', [{ ...add[0]!, name: '_25._tcp.mx.other.lab' }], key), /refused: NOTZONE: a name is outside the zone/],
  ];
  for (const [what, run, why] of cases) {
    await assert.rejects(run(), (e: Error) => e instanceof DnsUpdateError && why.test(e.message), what);
  }
  assert.equal((await dns.query(owner, 'TLSA')).rcode, 'NXDOMAIN', 'nothing was added');
  await assert.rejects(sendUpdate({ host: '127.0.0.1', port: 1 }, 'upd.lab', add, key), /update of upd\.lab at 127\.0\.0\.1:1 failed: connect ECONNREFUSED/);
});

test('an answer that claims success without a valid signature is not believed', async () => {
  // A server in the middle that answers NOERROR to anything, unsigned or with a forged MAC.
  const forged = (request: Buffer, withTsig: boolean) => {
    const answer = Buffer.from(request);
    answer.writeUInt16BE(0x8000 | (5 << 11), 2); // response, UPDATE, NOERROR
    if (!withTsig) {
      answer.writeUInt16BE(0, 10);
      return answer.subarray(0, request.length - TSIG_LENGTH);
    }
    answer.fill(7, answer.length - 6 - 32, answer.length - 6); // the request's MAC bytes, changed
    return answer;
  };
  for (const withTsig of [false, true]) {
    const fake = net.createServer((socket) =>
      socket.once('data', (d) => {
        const reply = forged(d.subarray(2), withTsig);
        socket.end(Buffer.concat([Buffer.from([reply.length >> 8, reply.length & 0xff]), reply]));
      }),
    );
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    try {
      const port = (fake.address() as net.AddressInfo).port;
      await assert.rejects(
        sendUpdate({ host: '127.0.0.1', port }, 'upd.lab', [{ op: 'delete', name: 'x.upd.lab', type: 'TXT' }], key),
        withTsig ? /the TSIG signature of the answer does not verify/ : /the answer is not signed \(no TSIG record\)/,
      );
    } finally {
      fake.close();
    }
  }
});
