import net from 'node:net';
import tls from 'node:tls';

/** A raw SMTP client for tests: send a command, read the whole (multi-line) reply. */
export class SmtpProbe {
  private socket: net.Socket | tls.TLSSocket;
  private buffer = '';
  private waiting: ((reply: string) => void) | undefined;
  private replies: string[] = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.listen(socket);
  }

  static connect(port: number, host = '127.0.0.1'): Promise<{ probe: SmtpProbe; greeting: string }> {
    return SmtpProbe.open(net.connect(port, host));
  }

  /** Connect from a chosen loopback source address (another "client host"). */
  static connectFrom(port: number, localAddress: string, host = '127.0.0.1'): Promise<{ probe: SmtpProbe; greeting: string }> {
    return SmtpProbe.open(net.connect({ port, host, localAddress }));
  }

  private static async open(socket: net.Socket): Promise<{ probe: SmtpProbe; greeting: string }> {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const probe = new SmtpProbe(socket);
    return { probe, greeting: await probe.reply() };
  }

  private listen(socket: net.Socket | tls.TLSSocket): void {
    socket.on('data', (d: Buffer) => {
      this.buffer += d.toString('latin1');
      // A reply ends with a line "NNN text" (a space after the code).
      for (;;) {
        const m = /^(?:\d{3}-.*\r\n)*\d{3}(?: .*)?\r\n/.exec(this.buffer);
        if (!m) break;
        this.buffer = this.buffer.slice(m[0].length);
        const reply = m[0].trimEnd();
        if (this.waiting) {
          const w = this.waiting;
          this.waiting = undefined;
          w(reply);
        } else {
          this.replies.push(reply);
        }
      }
    });
    socket.on('error', () => undefined);
  }

  reply(timeoutMs = 5000): Promise<string> {
    const queued = this.replies.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no SMTP reply within ${timeoutMs} ms`)), timeoutMs);
      this.waiting = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
    });
  }

  /** Replies that arrived unasked (after an injection attempt, there must be none). */
  unsolicited(): string[] {
    return [...this.replies];
  }

  send(line: string): Promise<string> {
    this.socket.write(line + '\r\n');
    return this.reply();
  }

  write(raw: string): void {
    this.socket.write(raw);
  }

  /** Handshake on the same socket after a 220 to STARTTLS. */
  async upgrade(options: tls.ConnectionOptions): Promise<tls.TLSSocket> {
    const raw = this.socket as net.Socket;
    raw.removeAllListeners('data');
    const secure = tls.connect({ socket: raw, ...options });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.socket = secure;
    this.buffer = '';
    this.listen(secure);
    return secure;
  }

  close(): void {
    this.socket.destroy();
  }
}
