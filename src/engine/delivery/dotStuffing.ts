import type { Transform, TransformCallback } from 'node:stream';

/**
 * nodemailer's DataStream (smtp-connection/data-stream.js) turns a message into SMTP DATA: a dot
 * at the start of a line is doubled, bare CR and bare LF become CRLF. It looks at every byte in
 * JavaScript, which was a quarter of the engine's CPU for a 100 KB message (bench/profile.ts,
 * tls1 100). `dotStuff` does the same with the native indexOf (memchr) over CR and LF only, the
 * bytes where anything can change; `useFastDotStuffing` puts it in place of DataStream's
 * `_transform`, once. Its counters (inByteCount, outByteCount) and lastByte, which its `_flush`
 * and the send's result read, are kept as the original keeps them.
 * test/unit/smtp-client-internals.test.ts checks it byte for byte against the original.
 */
interface DataStreamState {
  inByteCount: number;
  outByteCount: number;
  /** The previous chunk's last byte; false before the first chunk. */
  lastByte: number | false;
}

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const INSERT_LF = Buffer.from('\n');
const INSERT_LF_DOT = Buffer.from('\n.');
const INSERT_CR = Buffer.from('\r');
const INSERT_DOT = Buffer.from('.');

/** One chunk of a message as SMTP DATA, given the byte before it (false at the start). */
export function dotStuff(chunk: Buffer, before: number | false): Buffer {
  const at: number[] = [];
  const what: Buffer[] = [];
  const insert = (i: number, b: Buffer) => {
    at.push(i);
    what.push(b);
  };
  // The first byte, whose previous byte is the last chunk's.
  if (chunk[0] === DOT && (before === LF || before === false)) insert(0, INSERT_DOT);
  else if (before === CR && chunk[0] !== LF) insert(0, chunk[0] === DOT ? INSERT_LF_DOT : INSERT_LF);
  let cr = chunk.indexOf(CR);
  let lf = chunk.indexOf(LF);
  while (cr >= 0 || lf >= 0) {
    if (cr >= 0 && (lf < 0 || cr < lf)) {
      // A CR not followed by LF is a line end: LF added (and a dot after it stuffed).
      const next = chunk[cr + 1];
      if (next !== undefined && next !== LF) insert(cr + 1, next === DOT ? INSERT_LF_DOT : INSERT_LF);
      cr = chunk.indexOf(CR, cr + 1);
    } else {
      const prev = lf > 0 ? chunk[lf - 1] : before;
      if (prev !== CR) insert(lf, INSERT_CR);
      if (chunk[lf + 1] === DOT) insert(lf + 1, INSERT_DOT);
      lf = chunk.indexOf(LF, lf + 1);
    }
  }
  if (at.length === 0) return chunk;
  const parts: Buffer[] = [];
  let from = 0;
  at.forEach((i, k) => {
    if (i > from) parts.push(chunk.subarray(from, i));
    parts.push(what[k]!);
    from = i;
  });
  if (from < chunk.length) parts.push(chunk.subarray(from));
  return Buffer.concat(parts);
}

/** DataStream's `_transform`, with dotStuff. */
function transform(this: Transform & DataStreamState, chunk: Buffer | string, _encoding: BufferEncoding, done: TransformCallback): void {
  if (!chunk || !chunk.length) {
    done();
    return;
  }
  const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
  this.inByteCount += bytes.length;
  const out = dotStuff(bytes, this.lastByte);
  this.outByteCount += out.length;
  this.push(out);
  this.lastByte = bytes[bytes.length - 1]!;
  done();
}

/** The DataStream class nodemailer's SMTPConnection uses (not exported: found beside it, by file). */
export async function nodemailerDataStream(): Promise<{ prototype: { _transform: unknown } }> {
  const url = new URL('./data-stream.js', import.meta.resolve('nodemailer/lib/smtp-connection'));
  return ((await import(url.href)) as { default: { prototype: { _transform: unknown } } }).default;
}

/** DataStream's own `_transform`, kept when it is replaced. */
let original: unknown;

/** Put dotStuff in DataStream (once per process); its original `_transform` is returned for tests. */
export async function useFastDotStuffing(): Promise<unknown> {
  const DataStream = await nodemailerDataStream();
  if (original === undefined) {
    original = DataStream.prototype._transform;
    DataStream.prototype._transform = transform;
  }
  return original;
}
