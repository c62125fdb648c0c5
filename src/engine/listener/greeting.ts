import type { Socket } from 'node:net';
import type { SMTPServer } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

/** smtp-server internals used here (pinned 3.21.6; see test/e2e/inbound-tls.test.ts). */
interface ServerInternals {
  connections: Set<unknown>;
  options: { maxClients?: number };
  _onError(err: Error): void;
  _onClientConnect(data: unknown): void;
  connect(socket: Socket, socketOptions: unknown): void;
}

interface ConnectionInternals {
  name: string;
  on(event: string, listener: (data: never) => void): void;
  send(code: number, text: string, multiline: boolean): void;
  _setListeners(ready: () => void): void;
  connectionReady(): void;
}

/**
 * Greet at once. smtp-server waits a fixed 100 ms before every banner to catch clients that talk
 * first; that pause was most of the time a new session took (a banner after 100 ms, the rest of a
 * STARTTLS session in 6 ms), and Postfix's smtpd does not make it. The client still cannot talk
 * before the banner: input before it is refused, as before ("You talk too soon").
 * This is smtp-server's own connect() and init(), without the timer.
 */
export function greetAtOnce(server: SMTPServer): void {
  const s = server as unknown as ServerInternals;
  s.connect = (socket, socketOptions) => {
    const connection = new SMTPConnection(server, socket, socketOptions as never) as unknown as ConnectionInternals;
    s.connections.add(connection);
    connection.on('error', (err: Error) => s._onError(err));
    connection.on('connect', (data: unknown) => s._onClientConnect(data));
    connection._setListeners(() => {
      if (s.options.maxClients && s.connections.size > s.options.maxClients) {
        connection.send(421, `${connection.name} Too many connected clients, try again in a moment`, false);
        return;
      }
      connection.connectionReady();
    });
  };
}
