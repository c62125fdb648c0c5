import type { ErrorCode, Handlers, Op, Params, Results } from './protocol.js';
import { OPERATIONS } from './protocol.js';

/** A refusal an operation answers with: its code and a message for the administrator. */
export class ControlError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Run one operation of the engine's handler table: the parameters are checked against the
 * operation's schema first, so no handler sees a request it was not written for. Both transports
 * use this: the control socket (JSON lines) and the HTTPS interface (forms).
 */
export async function dispatch(handlers: Handlers, op: string, params: unknown): Promise<unknown> {
  if (!Object.hasOwn(OPERATIONS, op)) throw new ControlError('unknown-op', `unknown operation "${op}"`);
  const checked = OPERATIONS[op as Op].safeParse(params);
  if (!checked.success) {
    const why = checked.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
    throw new ControlError('bad-request', `${op}: ${why}`);
  }
  try {
    const handler = handlers[op as Op] as (p: unknown) => Promise<unknown> | unknown;
    return await handler(checked.data);
  } catch (err) {
    if (err instanceof ControlError) throw err;
    throw new ControlError('internal', (err as Error).message);
  }
}

/** The typed form, for callers inside the engine process (the HTTPS interface). */
export const call = <O extends Op>(handlers: Handlers, op: O, params: Params<O>): Promise<Results[O]> => dispatch(handlers, op, params) as Promise<Results[O]>;
