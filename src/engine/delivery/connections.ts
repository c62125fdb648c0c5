import type { EventEmitter } from 'node:events';

/**
 * What the cache needs of an opened SMTP connection (attempt.ts's Opened: nodemailer's connection
 * and what was decided when it was opened). Described here, not imported, so this module and the
 * one that opens connections do not depend on each other.
 */
export interface OpenedConnection {
  conn: Pick<EventEmitter, 'once' | 'removeListener'>;
}

/** An open, ready SMTP session to a destination: its TLS decision was made when it was opened. */
export interface Session<O extends OpenedConnection = OpenedConnection> {
  opened: O;
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
export class ConnectionCache<O extends OpenedConnection = OpenedConnection> {
  private readonly idle = new Map<string, Map<Session<O>, () => void>>();

  constructor(
    private readonly closeSession: (session: Session<O>) => void,
    private readonly idleMs = 5000,
  ) {}

  /** An idle session to `domain` that is still open, taken out of the cache. */
  take(domain: string): Session<O> | undefined {
    const sessions = this.idle.get(domain);
    if (!sessions) return undefined;
    for (const [session, release] of sessions) {
      sessions.delete(session);
      release();
      if (usable(session)) {
        if (sessions.size === 0) this.idle.delete(domain);
        return session;
      }
      this.closeSession(session);
    }
    this.idle.delete(domain);
    return undefined;
  }

  /** After a clean transaction: keep the session for the next message, or close it at its limit. */
  put(domain: string, session: Session<O>, messagesPerConnection: number): void {
    if (session.messages >= messagesPerConnection || !usable(session)) {
      this.closeSession(session);
      return;
    }
    const sessions = this.idle.get(domain) ?? new Map<Session<O>, () => void>();
    this.idle.set(domain, sessions);
    const conn = session.opened.conn;
    const expire = () => {
      release();
      if (sessions.delete(session)) this.closeSession(session);
      if (sessions.size === 0 && this.idle.get(domain) === sessions) this.idle.delete(domain);
    };
    const timer = setTimeout(expire, this.idleMs);
    timer.unref();
    // The peer may end an idle session (its own timeout): forget it at once.
    conn.once('end', expire);
    const release = () => {
      clearTimeout(timer);
      conn.removeListener('end', expire);
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

function usable(session: Session): boolean {
  const conn = session.opened.conn as unknown as { _destroyed?: boolean; _closing?: boolean };
  return !conn._destroyed && !conn._closing;
}
