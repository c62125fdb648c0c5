import type { SessionHooks } from './smtpServerAdapter.js';

/** What the deadlines need of a session (smtpServerAdapter.ts's hooks). */
export type DeadlineSession = Pick<SessionHooks, 'reply' | 'inData' | 'afterReply' | 'beforeCommand'>;

export interface DeadlineLimits {
  commandTimeout: number;
  dataTimeout: number;
  sessionTimeout: number;
}

/**
 * Deadlines a slow client cannot stretch (smtp-server only has an idle timeout, which one byte
 * every few seconds resets): after each reply of ours the client has `commandTimeout` seconds to
 * complete its next command line, after 354 `dataTimeout` seconds to transfer the whole message,
 * and the session ends after `sessionTimeout` seconds whatever happens. A client waiting for us
 * (a handler still working) is never timed out. On expiry: 421 and the connection is closed.
 */
export function applyDeadlines(conn: DeadlineSession, limits: DeadlineLimits, expired: (what: string) => void): () => void {
  let step: NodeJS.Timeout | undefined;
  let closed = false;
  const expire = (what: string, text: string) => {
    if (closed) return;
    closed = true;
    clearTimeout(step);
    clearTimeout(session);
    expired(what);
    conn.reply(421, text);
  };
  const session = setTimeout(() => expire(`session time limit (${limits.sessionTimeout} s)`, '4.4.2 Session time limit exceeded, closing connection'), limits.sessionTimeout * 1000);
  const arm = (dataMode: boolean) => {
    clearTimeout(step);
    step = dataMode
      ? setTimeout(() => expire(`message transfer time limit (${limits.dataTimeout} s)`, '4.4.2 Message transfer time limit exceeded, closing connection'), limits.dataTimeout * 1000)
      : setTimeout(() => expire(`command time limit (${limits.commandTimeout} s)`, '4.4.2 Command time limit exceeded, closing connection'), limits.commandTimeout * 1000);
  };
  conn.afterReply((code) => {
    if (closed || code === 421 || code === 221) return stop();
    // Our reply: the client owes the next command (or, after 354, the message).
    arm(code === 354);
  });
  conn.beforeCommand(() => {
    // A complete line arrived: until we answer, the client is waiting for us.
    if (!conn.inData()) clearTimeout(step);
  });
  const stop = () => {
    closed = true;
    clearTimeout(step);
    clearTimeout(session);
  };
  arm(false); // the greeting was sent before the connection was handed to us
  return stop;
}
