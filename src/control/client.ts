import net from 'node:net';
import type { ErrorCode, Op, Params, Reply, Results } from './protocol.js';
import { UserError } from '../userError.js';

export class EngineError extends UserError {
  constructor(
    readonly code: ErrorCode | 'unreachable',
    message: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}


/** One request over the control socket; a new connection each time keeps the client stateless. */
export function request<O extends Op>(socketPath: string, op: O, params?: Params<O>, timeoutMs = 60_000): Promise<Results[O]> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(socketPath);
    let buffer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new EngineError('unreachable', `the engine did not answer "${op}" within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(JSON.stringify({ id: 1, op, ...params }) + '\n'));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const nl = buffer.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      socket.end();
      const reply = JSON.parse(buffer.slice(0, nl)) as Reply;
      if (reply.ok) resolve(reply.result as Results[O]);
      else reject(new EngineError(reply.error.code, reply.error.message));
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new EngineError('unreachable', `the engine is not running (${err.code ?? err.message})`));
    });
    socket.on('close', () => {
      clearTimeout(timer);
      reject(new EngineError('unreachable', 'the engine closed the connection'));
    });
  });
}

export async function isEngineUp(socketPath: string): Promise<boolean> {
  try {
    await request(socketPath, 'ping', undefined, 5_000);
    return true;
  } catch {
    return false;
  }
}
