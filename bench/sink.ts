import net from 'node:net';

/**
 * The relay's far end: a minimal SMTP sink that answers and throws the data away, so that what it
 * costs (on the same two cores) is as little as Postfix's local delivery to a Maildir.
 */
export async function discardSink(): Promise<{ port: number; received: () => number; close(): void }> {
  let received = 0;
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    let data = false;
    let buffer = '';
    socket.write('220 sink ESMTP\r\n');
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
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
        if (line.startsWith('EHLO')) socket.write('250-sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n');
        else if (line.startsWith('DATA')) {
          data = true;
          buffer = '\r\n' + buffer; // the terminator may follow at once
          socket.write('354 go ahead\r\n');
        } else if (line.startsWith('QUIT')) socket.end('221 bye\r\n');
        else socket.write('250 2.0.0 Ok\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, received: () => received, close: () => server.close() };
}
