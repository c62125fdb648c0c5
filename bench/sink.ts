import net from 'node:net';
import tls from 'node:tls';

/**
 * The relay's far end: a minimal SMTP sink that answers and throws the data away, so that what it
 * costs (on the same two cores) is as little as Postfix's local delivery to a Maildir. With `tls`
 * it offers STARTTLS (one TLS context for all sessions); smtp-server, the tests' sink, greets after
 * 100 ms and parses every line, which makes it the limit of an outbound bench, not the sender.
 */
export async function discardSink(options: { tls?: { key: string; cert: string } } = {}): Promise<{ port: number; received: () => number; close(): void }> {
  let received = 0;
  const context = options.tls ? tls.createSecureContext(options.tls) : undefined;
  /** The SMTP dialogue on a socket: plain, or TLS after STARTTLS (`secure`, when STARTTLS is no longer offered). */
  const converse = (socket: net.Socket, secure: boolean) => {
    let data = false;
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      for (;;) {
        if (data) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) {
            buffer = buffer.slice(-4);
            return;
          }
          buffer = buffer.slice(end + 5);
          data = false;
          received += 1;
          socket.write('250 2.0.0 Ok: discarded\r\n');
          continue;
        }
        const eol = buffer.indexOf('\r\n');
        if (eol < 0) return;
        const line = buffer.slice(0, eol).toUpperCase();
        buffer = buffer.slice(eol + 2);
        if (line.startsWith('EHLO')) socket.write(`250-sink\r\n250-PIPELINING\r\n${context && !secure ? '250-STARTTLS\r\n' : ''}250 8BITMIME\r\n`);
        else if (line.startsWith('STARTTLS') && context && !secure) {
          socket.removeListener('data', onData);
          socket.write('220 2.0.0 Ready to start TLS\r\n');
          const upgraded = new tls.TLSSocket(socket, { isServer: true, secureContext: context });
          upgraded.on('error', () => socket.destroy());
          converse(upgraded, true);
          return;
        } else if (line.startsWith('DATA')) {
          data = true;
          buffer = '\r\n' + buffer; // the terminator may follow at once
          socket.write('354 go ahead\r\n');
        } else if (line.startsWith('QUIT')) socket.end('221 bye\r\n');
        else socket.write('250 2.0.0 Ok\r\n');
      }
    };
    socket.on('data', onData);
  };
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.write('220 sink ESMTP\r\n');
    converse(socket, false);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, received: () => received, close: () => server.close() };
}
