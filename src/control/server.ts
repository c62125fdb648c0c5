import { chmod, unlink } from 'node:fs/promises';
import net from 'node:net';
import type { ErrorCode, OperationTable, Principal, Reply } from './protocol.js';
import { MAX_LINE_BYTES } from './protocol.js';
import { ControlError, dispatch } from './dispatch.js';

export { ControlError } from './dispatch.js';

/** Whoever reaches the owner-only socket is the appliance's owner. */
const OWNER: Principal = { kind: 'local', name: 'local' };

/**
 * The engine's control socket (unix, mode 0600 inside an owner-only directory). Anything it does
 * not understand gets an error reply; nothing a client sends can crash the engine.
 */
export class ControlServer {
  private readonly server: net.Server;

  constructor(
    private readonly socketPath: string,
    private readonly operations: OperationTable,
  ) {
    this.server = net.createServer((socket) => this.serve(socket));
  }

  async listen(): Promise<void> {
    await unlink(this.socketPath).catch(() => undefined);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.socketPath, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    await chmod(this.socketPath, 0o600);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await unlink(this.socketPath).catch(() => undefined);
  }

  /**
   * Lines are collected as chunks and only the new chunk is searched for the end of the line, so
   * a long request costs time in proportion to its length (joining and rescanning the whole
   * buffer for every chunk made a 16 MB line cost seconds of CPU).
   */
  private serve(socket: net.Socket): void {
    let chunks: Buffer[] = [];
    let held = 0;
    socket.on('error', () => socket.destroy());
    socket.on('data', (data: Buffer) => {
      let start = 0;
      let nl: number;
      while ((nl = data.indexOf(0x0a, start)) >= 0) {
        const line = Buffer.concat([...chunks, data.subarray(start, nl)]).toString('utf8');
        chunks = [];
        held = 0;
        start = nl + 1;
        if (line.trim()) void this.answer(line).then((reply) => socket.writable && socket.write(JSON.stringify(reply) + '\n'));
      }
      if (start < data.length) {
        chunks.push(data.subarray(start));
        held += data.length - start;
      }
      if (held > MAX_LINE_BYTES) {
        socket.end(JSON.stringify(failure(undefined, 'bad-request', 'request too large')) + '\n');
        chunks = [];
        held = 0;
      }
    });
  }

  private async answer(line: string): Promise<Reply> {
    let request: unknown;
    try {
      request = JSON.parse(line);
    } catch {
      return failure(undefined, 'bad-request', 'request is not valid JSON');
    }
    if (request === null || typeof request !== 'object' || Array.isArray(request)) {
      return failure(undefined, 'bad-request', 'request must be a JSON object');
    }
    const { id, op, ...params } = request as { id?: unknown; op?: unknown };
    const replyId = typeof id === 'number' ? id : undefined;
    if (typeof op !== 'string') return failure(replyId, 'bad-request', 'request has no "op"');
    try {
      return { id: replyId, ok: true, result: await dispatch(this.operations, OWNER, op, params) };
    } catch (err) {
      if (err instanceof ControlError) return failure(replyId, err.code, err.message);
      return failure(replyId, 'internal', (err as Error).message);
    }
  }
}

function failure(id: number | undefined, code: ErrorCode, message: string): Reply {
  return { id, ok: false, error: { code, message } };
}
