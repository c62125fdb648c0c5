/** How much of a message is searched for the end of its header block. */
export const HEADER_SEARCH_BYTES = 64 * 1024;

const LF = 0x0a;
const CR = 0x0d;

/**
 * A message's header block as latin1 text: everything before the first empty line (CRLF or bare
 * LF line ends), searched for in the first 64 KB; without an empty line there, those 64 KB.
 * `chunks` are the message's first chunks as received. Only the header block is turned into text
 * and, when the first chunk holds it (nearly always), nothing is copied: the whole 64 KB as a
 * string was a quarter of the engine's JavaScript allocations on 100 KB messages.
 */
export function headerBlock(chunks: readonly Buffer[]): string {
  const first = chunks[0] ?? Buffer.alloc(0);
  const inFirst = headerEnd(first, Math.min(first.length, HEADER_SEARCH_BYTES));
  if (inFirst !== undefined || chunks.length < 2 || first.length >= HEADER_SEARCH_BYTES) {
    return first.toString('latin1', 0, inFirst ?? Math.min(first.length, HEADER_SEARCH_BYTES));
  }
  const head = Buffer.concat(chunks);
  const limit = Math.min(head.length, HEADER_SEARCH_BYTES);
  return head.toString('latin1', 0, headerEnd(head, limit) ?? limit);
}

/**
 * Where the first empty line starts within `bytes[0, limit)`, as /\r?\n\r?\n/ would find it: at the
 * line break that ends the last header line (its CR when there is one); undefined without one.
 */
function headerEnd(bytes: Buffer, limit: number): number | undefined {
  for (let i = bytes.indexOf(LF); i >= 0 && i + 1 < limit; i = bytes.indexOf(LF, i + 1)) {
    const next = bytes[i + 1];
    if (next === LF || (next === CR && i + 2 < limit && bytes[i + 2] === LF)) return i > 0 && bytes[i - 1] === CR ? i - 1 : i;
  }
  return undefined;
}
