import net from 'node:net';
import { SMTPServer } from 'smtp-server';

/** Receiving peers for delivery tests, on 127.0.0.1. They are test doubles of remote MTAs. */

export interface Received {
  from: string;
  to: string[];
  data: string;
  secure: boolean;
}

export interface Sink {
  port: number;
  received: Received[];
  /** Most sessions that were open at the same time (smtpSink only). */
  maxConcurrent?: () => number;
  /** Messages received on each session, in the order the sessions opened (smtpSink only). */
  perSession?: () => number[];
  /** Subject CNs of the client certificates presented (smtpSink with requestCert only). */
  clientCertificates?: string[];
  close(): Promise<void>;
}

/** smtp-server with or without STARTTLS (own certificate); `reject` addresses get 550 at RCPT. */
export async function smtpSink(
  options: { tls?: { key: string; cert: string; requestCert?: boolean }; reject?: string[]; host?: string; port?: number; delayMs?: number; idleTimeoutMs?: number; hideREQUIRETLS?: boolean } = {},
): Promise<Sink> {
  const received: Received[] = [];
  const clientCertificates: string[] = [];
  const messagesBySession = new Map<string, number>();
  // A message counts as received only when the 250 goes out on a connection that is still open.
  const closed = new Set<string>();
  let open = 0;
  let most = 0;
  const server = new SMTPServer({
    authOptional: true,
    logger: false,
    disableReverseLookup: true,
    // smtp-server offers REQUIRETLS after STARTTLS; a peer like Postfix 3.7 does not.
    ...(options.hideREQUIRETLS ? { hideREQUIRETLS: true } : {}),
    ...(options.idleTimeoutMs ? { socketTimeout: options.idleTimeoutMs } : {}),
    disabledCommands: options.tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    ...(options.tls ?? {}),
    // Asks for a client certificate and records it, whoever signed it.
    ...(options.tls?.requestCert ? { rejectUnauthorized: false } : {}),
    onRcptTo(address, _session, cb) {
      if (options.reject?.includes(address.address)) return cb(Object.assign(new Error('5.1.1 No such user here'), { responseCode: 550 }));
      cb();
    },
    onSecure(socket, _session, cb) {
      const cn = (socket as import('node:tls').TLSSocket).getPeerCertificate().subject?.CN;
      if (cn) clientCertificates.push(String(cn));
      cb();
    },
    onConnect(session, cb) {
      messagesBySession.set(session.id, 0);
      open += 1;
      most = Math.max(most, open);
      cb();
    },
    onClose(session) {
      open -= 1;
      closed.add(session.id);
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
        if (closed.has(session.id)) return cb(new Error('connection gone'));
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          data: Buffer.concat(chunks).toString(),
          secure: session.secure,
        });
        messagesBySession.set(session.id, (messagesBySession.get(session.id) ?? 0) + 1);
        cb(null, 'Ok: sink queued');
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE' && options.port === 25
          ? new Error(`port 25 on ${options.host} is taken, probably by the system's MTA (Debian's Postfix listens on every address): stop it for the tests (postfix stop)`)
          : err,
      ),
    );
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  return { port: (server.server.address() as net.AddressInfo).port, received, maxConcurrent: () => most, perSession: () => [...messagesBySession.values()], clientCertificates, close: () => new Promise((r) => server.close(() => r())) };
}

/** A peer that advertises STARTTLS and answers it with 454, then takes mail in clear. */
export function refusingStarttlsSink(): Promise<Sink> {
  return scriptedSink('454 4.7.0 TLS not available due to local problem\r\n');
}

/** A peer that accepts STARTTLS with 220 and then breaks the handshake (sends junk, hangs up). */
export function brokenHandshakeSink(): Promise<Sink> {
  return scriptedSink('220 2.0.0 go ahead\r\n', true);
}

async function scriptedSink(starttlsReply: string, breakAfter = false): Promise<Sink> {
  const received: Received[] = [];
  const server = net.createServer((socket) => {
    let buffer = '';
    let inData = false;
    let current: Received = { from: '', to: [], data: '', secure: false };
    socket.write('220 refuse.test ESMTP\r\n');
    socket.on('data', (d) => {
      buffer += d.toString('latin1');
      let nl: number;
      while ((nl = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            received.push(current);
            current = { from: '', to: [], data: '', secure: false };
            socket.write('250 ok\r\n');
          } else current.data += line + '\n';
          continue;
        }
        const cmd = line.slice(0, 4).toUpperCase();
        if (cmd === 'EHLO') socket.write('250-refuse.test\r\n250-STARTTLS\r\n250 8BITMIME\r\n');
        else if (cmd === 'STAR') {
          socket.write(starttlsReply);
          if (breakAfter) return void socket.end('this is not a TLS record\r\n');
        }
        else if (cmd === 'MAIL') {
          current.from = /<([^>]*)>/.exec(line)?.[1] ?? '';
          socket.write('250 ok\r\n');
        } else if (cmd === 'RCPT') {
          current.to.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
          socket.write('250 ok\r\n');
        } else if (cmd === 'DATA') {
          inData = true;
          socket.write('354 go\r\n');
        } else if (cmd === 'QUIT') socket.end('221 bye\r\n');
        else socket.write('250 ok\r\n');
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, received, close: () => new Promise((r) => server.close(() => r())) };
}

/** A man in the middle that removes STARTTLS from the peer's EHLO answer (a downgrade attack). */
export async function strippingProxy(targetPort: number): Promise<Sink & { stripped: () => number }> {
  let stripped = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    upstream.on('data', (d: Buffer) => {
      const text = d.toString('latin1');
      const cleaned = text.replace(/^250-STARTTLS\r\n/gm, '').replace(/^250 STARTTLS\r\n/gm, '250 X-NOTHING\r\n');
      if (cleaned !== text) stripped += 1;
      client.write(Buffer.from(cleaned, 'latin1'));
    });
    client.on('data', (d) => upstream.write(d));
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.end());
    upstream.on('close', () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, received: [], stripped: () => stripped, close: () => new Promise((r) => server.close(() => r())) };
}
