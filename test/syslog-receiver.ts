import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';

/** One RFC 5424 message as a receiver got it. */
export interface SyslogMessage {
  pri: number;
  hostname: string;
  app: string;
  msgid: string;
  /** The MSG part ("Info: …"). */
  text: string;
  raw: string;
}

const HEADER = /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) - (.*)$/s;

function parse(raw: string): SyslogMessage {
  const m = HEADER.exec(raw);
  if (!m) throw new Error(`not an RFC 5424 message: ${JSON.stringify(raw.slice(0, 200))}`);
  return { pri: Number(m[1]), hostname: m[3]!, app: m[4]!, msgid: m[6]!, text: m[7]!, raw };
}

export interface SyslogReceiver {
  port: number;
  messages: SyslogMessage[];
  /** Framing errors: a receiver that got bytes it could not read. */
  errors: string[];
  close(): Promise<void>;
}

/**
 * A small syslog server for tests: TCP or TLS with octet-counting framing (RFC 6587, RFC 5425),
 * or UDP datagrams (RFC 5426), on 127.0.0.1. `port` 0 takes a free one.
 */
export async function syslogReceiver(kind: 'tcp' | 'udp' | { tls: { key: string; cert: string } }, port = 0): Promise<SyslogReceiver> {
  const messages: SyslogMessage[] = [];
  const errors: string[] = [];
  if (kind === 'udp') {
    const socket = dgram.createSocket('udp4');
    socket.on('message', (m) => messages.push(parse(m.toString('utf8'))));
    await new Promise<void>((resolve) => socket.bind(port, '127.0.0.1', resolve));
    return { port: socket.address().port, messages, errors, close: () => new Promise((resolve) => socket.close(() => resolve())) };
  }
  const sockets = new Set<net.Socket>();
  const serve = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const space = buffer.indexOf(0x20);
        if (space < 0) return;
        const length = Number(buffer.subarray(0, space).toString());
        if (!Number.isInteger(length) || length <= 0) {
          errors.push(`bad frame length ${JSON.stringify(buffer.subarray(0, space).toString())}`);
          socket.destroy();
          return;
        }
        if (buffer.length < space + 1 + length) return;
        messages.push(parse(buffer.subarray(space + 1, space + 1 + length).toString('utf8')));
        buffer = buffer.subarray(space + 1 + length);
      }
    });
  };
  const server = kind === 'tcp' ? net.createServer(serve) : tls.createServer({ key: kind.tls.key, cert: kind.tls.cert }, serve);
  server.on('tlsClientError', (err: Error) => errors.push(err.message));
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    messages,
    errors,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
