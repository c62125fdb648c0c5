import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { applianceWithListener, BIN, cleanup, freePort, stopEngine, TEST_ENV, useChainCertificate } from '../helpers.js';
import { opensslChain } from '../pki-fixtures.js';

/**
 * Returning clients resume with a session ticket instead of a full handshake, on the STARTTLS
 * listeners and on HTTPS alike; the ticket key is shared by both and rotated, after which an old
 * ticket no longer resumes. The engine here rotates every 2 seconds (MXGATE_TICKET_ROTATION_SECONDS).
 */
const ROTATION_SECONDS = 2;
const chain = opensslChain();
let home: string;
let smtpPort: number;
let httpsPort: number;

before(async () => {
  ({ home, port: smtpPort } = await applianceWithListener());
  httpsPort = await freePort();
  await useChainCertificate(home, chain, 'listenerconfig edit InboundMail hostaccess default --tls preferred', `interfaceconfig edit Management --https ${httpsPort} --https-certificate mx1`);
  await stopEngine(home);
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, '--home', home, 'engine', 'start'], { env: { ...TEST_ENV, MXGATE_TICKET_ROTATION_SECONDS: String(ROTATION_SECONDS) }, stdio: 'ignore' });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`engine start exited ${code}`))));
  });
});
after(() => cleanup(home));

/** A TLS connection and the session tickets the server sends on it (listened for from the start). */
type Opened = { socket: tls.TLSSocket; tickets: Buffer[] };
type Connect = (session?: Buffer) => Promise<Opened>;

function secure(options: tls.ConnectionOptions): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const tickets: Buffer[] = [];
    const socket = tls.connect({ ca: chain.root, servername: 'mx.test.example', ...options }, () => resolve({ socket, tickets }));
    socket.on('session', (t: Buffer) => tickets.push(t));
    socket.on('error', reject);
  });
}

/** EHLO and STARTTLS by hand, then the handshake on the same socket. */
const starttls: Connect = (session) =>
  new Promise((resolve, reject) => {
    const raw = net.connect(smtpPort, '127.0.0.1');
    let text = '';
    const steps = [/^220 /m, /^250 /m, /^220 /m];
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      if (!steps[0]!.test(text)) return;
      steps.shift();
      text = '';
      if (steps.length === 2) raw.write('EHLO t\r\n');
      else if (steps.length === 1) raw.write('STARTTLS\r\n');
      else {
        raw.off('data', onData);
        secure({ socket: raw, ...(session ? { session } : {}) }).then(resolve, reject);
      }
    };
    raw.on('data', onData);
    raw.on('error', reject);
  });

const https: Connect = (session) => secure({ host: '127.0.0.1', port: httpsPort, ...(session ? { session } : {}) });

/** Connect, wait for the server's ticket (TLS 1.3 sends it after the handshake), report reuse. */
async function visit(connect: Connect, session?: Buffer): Promise<{ reused: boolean; ticket?: Buffer }> {
  const { socket, tickets } = await connect(session);
  socket.resume();
  // A full handshake ends with tickets for next time (a resumed one may send none).
  for (let i = 0; i < 20 && tickets.length === 0; i += 1) await new Promise((r) => setTimeout(r, 50));
  const reused = socket.isSessionReused();
  socket.destroy();
  return { reused, ticket: tickets.at(-1) };
}

for (const [name, connect] of [['STARTTLS', starttls], ['HTTPS', https]] as const) {
  test(`${name}: a ticket resumes the session; after the key rotates it does not`, async () => {
    const first = await visit(connect);
    assert.equal(first.reused, false, 'the first visit is a full handshake');
    assert.ok(first.ticket, 'the server sent a session ticket');
    // A rotation may fall between two visits; of three tries at once, one resumes.
    let resumed = false;
    for (let i = 0; i < 3 && !resumed; i += 1) resumed = (await visit(connect, (await visit(connect)).ticket!)).reused;
    assert.equal(resumed, true, 'a returning client resumes');
    const old = (await visit(connect)).ticket!;
    await new Promise((r) => setTimeout(r, ROTATION_SECONDS * 2000 + 500));
    assert.equal((await visit(connect, old)).reused, false, 'a ticket from before the rotation makes a full handshake');
  });
}


test('STARTTLS: a full handshake sends one session ticket (OpenSSL would send two); the engine is started with its OpenSSL settings', async () => {
  const { socket, tickets } = await starttls();
  // Tickets come right after the handshake, before anything the server writes next: once the
  // answer to EHLO is here, every ticket of this handshake has been counted.
  const answer = await new Promise<string>((resolve, reject) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (/^250 /m.test(text)) resolve(text);
    });
    socket.on('error', reject);
    socket.write('EHLO t\r\n');
  });
  const reused = socket.isSessionReused();
  socket.destroy();
  assert.match(answer, /^250 /m);
  assert.equal(reused, false, 'a full handshake');
  assert.equal(tickets.length, 1, 'one NewSessionTicket');
});
