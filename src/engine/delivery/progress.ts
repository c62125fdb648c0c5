import type { IdAllocator } from '../ids.js';
import type { MailLog } from '../log/mailLog.js';
import { enqueueGenerated, type Envelope, recipientStates, type Spool } from '../queue/spool.js';
import { buildBounce, type Failed } from './dsn.js';

/** What writing delivery progress needs: the queue, the mail log, message numbers, our name. */
export interface ProgressDeps {
  spool: Spool;
  log: MailLog;
  ids: IdAllocator;
  hostname: () => string;
}

/**
 * Write delivery progress: a message with no recipient pending leaves the queue, else its envelope
 * is rewritten. Used by the scheduler after an attempt and by queue administration after a bounce.
 */
export async function recordProgress(deps: ProgressDeps, env: Envelope): Promise<void> {
  if (recipientStates(env).every((s) => s.status !== 'pending')) {
    await deps.spool.remove(env.mid);
    deps.log.info(`Message finished MID ${env.mid} done`);
  } else {
    await deps.spool.update(env);
  }
}

/** A DSN to the sender goes through the queue like any message (never for a null sender). */
export async function queueDsn(deps: ProgressDeps, env: Envelope, message: Buffer, failed: Failed[]): Promise<void> {
  const hostname = deps.hostname();
  const data = buildBounce(hostname, { from: env.from, receivedAt: env.receivedAt, message }, failed);
  // RFC 8689 §5: the DSN of a REQUIRETLS message carries only its headers (text/rfc822-headers, as
  // every mxgate DSN does) and is itself sent with REQUIRETLS.
  const mid = await enqueueGenerated(deps.spool, deps.ids, { listener: 'bounce', hostname, from: '', to: [env.from], ...(env.requireTls ? { requireTls: true } : {}) }, data);
  deps.log.info(`MID ${mid} DSN for MID ${env.mid} to <${env.from}> queued`);
}
