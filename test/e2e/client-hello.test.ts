import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { applianceWithListener, cleanup, shellOk, submitMail, until } from '../helpers.js';

/**
 * What mxgate offers when it delivers with TLS, read off the wire: a peer that speaks just enough
 * SMTP to be asked for STARTTLS, then records the ClientHello and hangs up.
 */
interface Hello {
  suites: number[];
  versions: number[];
}

/** The cipher suites and supported_versions of a TLS ClientHello record. */
function parseClientHello(record: Buffer): Hello {
  assert.equal(record[0], 22, 'a handshake record');
  assert.equal(record[5], 1, 'a ClientHello');
  let at = 9 + 2 + 32; // record header, handshake header, client_version, random
  at += 1 + record[at]!; // session id
  const suitesLength = record.readUInt16BE(at);
  const suites: number[] = [];
  for (let i = 0; i < suitesLength; i += 2) suites.push(record.readUInt16BE(at + 2 + i));
  at += 2 + suitesLength;
  at += 1 + record[at]!; // compression methods
  const end = at + 2 + record.readUInt16BE(at);
  const versions: number[] = [];
  for (at += 2; at < end; ) {
    const type = record.readUInt16BE(at);
    const length = record.readUInt16BE(at + 2);
    if (type === 43) for (let i = 0; i < record[at + 4]!; i += 2) versions.push(record.readUInt16BE(at + 5 + i));
    at += 4 + length;
  }
  return { suites, versions };
}

function helloRecorder(): Promise<{ port: number; hellos: Hello[]; close(): void }> {
  const hellos: Hello[] = [];
  const server = net.createServer((socket) => {
    let text = '';
    let tls = false;
    let record = Buffer.alloc(0);
    socket.write('220 recorder ESMTP\r\n');
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      if (tls) {
        record = Buffer.concat([record, chunk]);
        if (record.length >= 5 && record.length >= 5 + record.readUInt16BE(3)) {
          hellos.push(parseClientHello(record));
          socket.destroy();
        }
        return;
      }
      text += chunk.toString('latin1');
      for (let nl = text.indexOf('\r\n'); nl >= 0; nl = text.indexOf('\r\n')) {
        const line = text.slice(0, nl).toUpperCase();
        text = text.slice(nl + 2);
        if (line.startsWith('EHLO')) socket.write('250-recorder\r\n250 STARTTLS\r\n');
        else if (line === 'STARTTLS') {
          tls = true;
          socket.write('220 go ahead\r\n');
        } else socket.write('221 bye\r\n');
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as net.AddressInfo).port, hellos, close: () => server.close() })));
}

/** IANA numbers of the default list (sslconfig's FORWARD_SECRET_CIPHERS) and the renegotiation SCSV. */
const DEFAULT_SUITES = new Set([0x1301, 0x1302, 0x1303, 0xc02b, 0xc02c, 0xc02f, 0xc030, 0xcca8, 0xcca9, 0x00ff]);
const TLS12 = 0x0303;
const TLS13 = 0x0304;

let home: string;
let smtpPort: number;
let recorder: Awaited<ReturnType<typeof helloRecorder>>;

before(async () => {
  ({ home, port: smtpPort } = await applianceWithListener());
  recorder = await helloRecorder();
  await shellOk(home, `smtproutes new example.net 127.0.0.1:${recorder.port}`, 'destconfig new example.net --tls preferred', 'commit "recorder"');
});
after(async () => {
  recorder.close();
  await cleanup(home);
});

test('outbound TLS offers the default profile: TLS 1.2 and 1.3 only, ECDHE with AES-GCM or ChaCha20 only', async () => {
  await submitMail(smtpPort, 'user@example.net', 'hello recorder');
  const hello = await until(home, 'a ClientHello', () => recorder.hellos[0]);
  assert.deepEqual(hello.suites.filter((s) => !DEFAULT_SUITES.has(s)).map((s) => s.toString(16)), [], 'nothing outside the default list');
  for (const s of [0x1301, 0xc02f, 0xc02b]) assert.ok(hello.suites.includes(s), `offers 0x${s.toString(16)}`);
  assert.deepEqual([...hello.versions].sort(), [TLS12, TLS13], 'supported_versions: TLS 1.3 and 1.2 only');
});

test('sslconfig outbound --ciphers widens what is offered once committed (for old peers)', async () => {
  const seen = recorder.hellos.length;
  await shellOk(home, 'sslconfig outbound --ciphers ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256', 'commit "an old peer"', 'deliverynow example.net');
  const hello = await until(home, 'another ClientHello', () => recorder.hellos[seen]);
  assert.ok(hello.suites.includes(0xc013), 'ECDHE-RSA-AES128-SHA (CBC) is offered now');
  await shellOk(home, 'sslconfig outbound --ciphers default', 'commit "back to the default"', 'deliverynow example.net');
  const back = await until(home, 'a third ClientHello', () => recorder.hellos[seen + 1]);
  assert.equal(back.suites.includes(0xc013), false);
});
