import type { IdAllocator } from '../ids.js';
import type { MailLog } from '../log/mailLog.js';
import { enqueueGenerated, type Envelope, recipientStates, type Spool } from '../queue/spool.js';
import { buildBounce, type DsnKind, type Failed } from './dsn.js';

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

/**
 * A DSN goes through the queue like any message (never for a null sender): to the sender, or to
 * the alternate address of the bounce profile (`to`).
 */
export async function queueDsn(deps: ProgressDeps, env: Envelope, message: Buffer, failed: Failed[], options: { to?: string; what?: DsnKind } = {}): Promise<void> {
  const hostname = deps.hostname();
  const to = options.to ?? env.from;
  const what = options.what ?? { kind: 'failure' as const };
  const data = buildBounce(hostname, { from: env.from, to, receivedAt: env.receivedAt, message }, failed, what);
  // RFC 8689 §5: the DSN of a REQUIRETLS message carries only its headers (text/rfc822-headers, as
  // every mxgate DSN does) and is itself sent with REQUIRETLS.
  const mid = await enqueueGenerated(deps.spool, deps.ids, { listener: 'bounce', hostname, from: '', to: [to], ...(env.requireTls ? { requireTls: true } : {}) }, data);
  deps.log.info(`MID ${mid} ${what.kind === 'delay' ? 'delay warning' : 'DSN'} for MID ${env.mid} to <${to}> queued`);
}
