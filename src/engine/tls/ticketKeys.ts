import { randomBytes } from 'node:crypto';

/**
 * The session ticket key every TLS server of the engine (STARTTLS listeners, HTTPS) encrypts
 * tickets with, so a returning client can resume without a full handshake. It is replaced every
 * `rotationMs` (12 hours unless MXGATE_TICKET_ROTATION_SECONDS says otherwise): a ticket issued
 * before that no longer resumes, which bounds how long one stolen key can decrypt recorded sessions.
 */
export class TicketKeys {
  private key = randomBytes(48);
  private timer: NodeJS.Timeout | undefined;
  readonly rotationMs: number;

  constructor(rotationSeconds = Number(process.env.MXGATE_TICKET_ROTATION_SECONDS) || 12 * 3600) {
    this.rotationMs = rotationSeconds * 1000;
  }

  get current(): Buffer {
    return this.key;
  }

  /** Rotate on a timer, telling `apply` each new key. */
  start(apply: (key: Buffer) => void): void {
    this.timer = setInterval(() => {
      this.key = randomBytes(48);
      apply(this.key);
    }, this.rotationMs).unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
