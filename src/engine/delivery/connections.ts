import type { EventEmitter } from 'node:events';

/**
 * What the cache needs of an open SMTP session (smtpClient.ts's Session): the messages sent on it
 * and its connection's 'end' event. Described here, not imported, so the cache does not depend on
 * the SMTP client.
 */
export interface CachedSession {
  opened: { conn: Pick<EventEmitter, 'once' | 'removeListener'> };
  /** Messages sent on it so far. */
  messages: number;
}

/**
 * Idle delivery connections, per destination domain, for the next message to the same domain
 * (destconfig "messages per connection"). A session is only kept after a clean transaction, so it
 * is ready for the next MAIL FROM; it is closed when its limit is reached, after `idleMs` without
 * use, when the peer drops it, or when the configuration changes (`closeAll` on commit: the TLS
 * decision it carries was made under the old settings).
 */
export class ConnectionCache<S extends CachedSession> {
  private readonly idle = new Map<string, Map<S, () => void>>();

  constructor(
    /** Close a session; `idleMs` is set when it is closed for having waited that long unused. */
    private readonly closeSession: (session: S, idleMs?: number) => void,
    /** Is a kept session still open (the SMTP client knows). */
    private readonly usable: (session: S) => boolean,
    private readonly idleMs = 5000,
  ) {}

  /** An idle session to `domain` that is still open, taken out of the cache. */
  take(domain: string): S | undefined {
    const sessions = this.idle.get(domain);
    if (!sessions) return undefined;
    for (const [session, release] of sessions) {
      sessions.delete(session);
      release();
      if (this.usable(session)) {
        if (sessions.size === 0) this.idle.delete(domain);
        return session;
      }
      this.closeSession(session);
    }
    this.idle.delete(domain);
    return undefined;
  }

  /** After a clean transaction: keep the session for the next message, or close it at its limit. */
  put(domain: string, session: S, messagesPerConnection: number): void {
    if (session.messages >= messagesPerConnection || !this.usable(session)) {
      this.closeSession(session);
      return;
    }
    const sessions = this.idle.get(domain) ?? new Map<S, () => void>();
    this.idle.set(domain, sessions);
    const conn = session.opened.conn;
    const expire = (idle: boolean) => {
      release();
      if (sessions.delete(session)) this.closeSession(session, idle ? this.idleMs : undefined);
      if (sessions.size === 0 && this.idle.get(domain) === sessions) this.idle.delete(domain);
    };
    const timer = setTimeout(() => expire(true), this.idleMs);
    timer.unref();
    // The peer may end an idle session (its own timeout): forget it at once.
    const ended = () => expire(false);
    conn.once('end', ended);
    const release = () => {
      clearTimeout(timer);
      conn.removeListener('end', ended);
    };
    sessions.set(session, release);
  }

  /** Idle sessions kept, over all domains. */
  get size(): number {
    let n = 0;
    for (const sessions of this.idle.values()) n += sessions.size;
    return n;
  }

  closeAll(): void {
    for (const sessions of this.idle.values()) {
      for (const [session, release] of sessions) {
        release();
        this.closeSession(session);
      }
    }
    this.idle.clear();
  }
}
