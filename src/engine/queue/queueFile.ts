import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/**
 * One file per queued message, queue/<MID>.msg: the message's bytes, then its envelope (JSON, one
 * line), then a fixed-length trailer that gives the envelope's length:
 *
 *   <message bytes><envelope JSON>\n"mxgate-envelope 0000000123\n"
 *
 * The envelope's `size` is the message's length, so the message is bytes [0, size) and the file is
 * complete only when message, envelope and trailer add up to its length; a file cut short (a
 * crash before its fsync, a damaged disk) is recognised as such and never sent. One file written
 * once, with one fsync, in place of a message file and an envelope file (the queue's main cost
 * per message was the file work). `head -c SIZE` shows the message as it was received.
 */
const MAGIC = 'mxgate-envelope ';
const DIGITS = 10;
const TRAILER_BYTES = MAGIC.length + DIGITS + 1;

/** What follows the message's bytes in its queue file. */
export function envelopeTrailer(envelope: object): Buffer {
  const json = `${JSON.stringify(envelope)}\n`;
  const length = Buffer.byteLength(json);
  return Buffer.from(`${json}${MAGIC}${String(length).padStart(DIGITS, '0')}\n`);
}

/** The envelope's JSON length from a trailer, or a reason it is not one. */
function trailerLength(trailer: Buffer, fileBytes: number): number | string {
  const text = trailer.toString('latin1');
  const m = /^mxgate-envelope (\d{10})\n$/.exec(text);
  if (fileBytes < TRAILER_BYTES || !m) return `it ends without its envelope (cut short: ${fileBytes} bytes)`;
  const length = Number(m[1]);
  if (length + TRAILER_BYTES > fileBytes) return `its envelope is longer than the file (cut short: ${fileBytes} bytes)`;
  return length;
}

/** The envelope stored in a whole queue file held in memory, with the message's length; or why there is none. */
export function envelopeIn(file: Buffer): { json: string; messageBytes: number } | string {
  const length = trailerLength(file.subarray(file.length - TRAILER_BYTES), file.length);
  if (typeof length === 'string') return length;
  const start = file.length - TRAILER_BYTES - length;
  return { json: file.toString('utf8', start, start + length), messageBytes: start };
}

/**
 * The envelope of a queue file on disk, read from its end without reading the message
 * (synchronous: used once per file at start-up, where a promise per small read costs more).
 */
export function readEnvelopeAtEnd(path: string): { json: string; messageBytes: number } | string {
  const fd = openSync(path, 'r');
  try {
    const bytes = fstatSync(fd).size;
    const trailer = Buffer.alloc(Math.min(TRAILER_BYTES, bytes));
    readSync(fd, trailer, 0, trailer.length, bytes - trailer.length);
    const length = trailerLength(trailer, bytes);
    if (typeof length === 'string') return length;
    const json = Buffer.alloc(length);
    const start = bytes - TRAILER_BYTES - length;
    readSync(fd, json, 0, length, start);
    return { json: json.toString('utf8'), messageBytes: start };
  } finally {
    closeSync(fd);
  }
}
