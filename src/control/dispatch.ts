import type { Caller, ErrorCode, Op, OperationTable, Params, Principal, Results } from './protocol.js';
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
 * Run one operation of the engine's table for a principal: the parameters are checked against the
 * operation's schema, then the table admits the principal or refuses it, and only then does the
 * handler run, so no handler sees a request it was not written for or a caller it did not admit.
 * Every transport uses this: the control socket (JSON lines), the HTTPS interface (forms) and SSH.
 */
export async function dispatch(table: OperationTable, principal: Principal, op: string, params: unknown): Promise<unknown> {
  if (!Object.hasOwn(OPERATIONS, op)) throw new ControlError('unknown-op', `unknown operation "${op}"`);
  const checked = OPERATIONS[op as Op].safeParse(params);
  if (!checked.success) {
    const why = checked.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
    throw new ControlError('bad-request', `${op}: ${why}`);
  }
  try {
    table.admit(principal, op as Op);
    const handler = table.handlers[op as Op] as (p: unknown, who: Principal) => Promise<unknown> | unknown;
    return await handler(checked.data, principal);
  } catch (err) {
    if (err instanceof ControlError) throw err;
    throw new ControlError('internal', (err as Error).message);
  }
}

/** A principal's typed way into the table, for front-ends inside the engine process (HTTPS, SSH). */
export const callerFor =
  (table: OperationTable, principal: Principal): Caller =>
  <O extends Op>(op: O, params: Params<O>) =>
    dispatch(table, principal, op, params) as Promise<Results[O]>;
