import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEADER_SEARCH_BYTES, headerBlock } from '../../src/engine/listener/headerBlock.js';

/** What the header block is, said as a regular expression over the first 64 KB as text. */
function reference(message: Buffer): string {
  const text = message.subarray(0, HEADER_SEARCH_BYTES).toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  return end < 0 ? text : text.slice(0, end);
}

/** The message cut into chunks at the given offsets, as a socket might deliver it. */
function chunked(message: Buffer, cuts: number[]): Buffer[] {
  const at = [0, ...cuts.filter((c) => c > 0 && c < message.length).sort((a, b) => a - b), message.length];
  return at.slice(1).map((end, i) => message.subarray(at[i], end));
}

test('the header block ends at the first empty line, with CRLF, bare LF or mixed line ends', () => {
  const cases: [string, string][] = [
    ['Subject: a\r\nFrom: b\r\n\r\nbody\r\n', 'Subject: a\r\nFrom: b'],
    ['Subject: a\nFrom: b\n\nbody\n', 'Subject: a\nFrom: b'],
    ['Subject: a\r\nFrom: b\n\r\nbody', 'Subject: a\r\nFrom: b'],
    ['Subject: a\nFrom: b\r\n\nbody', 'Subject: a\nFrom: b'],
    ['\r\n\r\nbody', ''],
    ['\n\nbody', ''],
    ['Subject: no body at all\r\n', 'Subject: no body at all\r\n'],
    ['Subject: a\r\n\rX: not empty\r\n\r\nbody', 'Subject: a\r\n\rX: not empty'],
    ['', ''],
  ];
  for (const [message, header] of cases) {
    assert.equal(headerBlock([Buffer.from(message, 'latin1')]), header, JSON.stringify(message));
    assert.equal(headerBlock(chunked(Buffer.from(message, 'latin1'), [1, 3, message.length - 2])), header, `${JSON.stringify(message)} in pieces`);
  }
});

test('an empty line cut between two chunks is found; one past the first 64 KB is not', () => {
  const header = `Subject: x\r\n${'X-Long: '.padEnd(200, 'y')}\r\n`.repeat(3);
  const message = Buffer.from(`${header}\r\nbody\r\n`, 'latin1');
  for (let cut = 1; cut < message.length; cut += 1) assert.equal(headerBlock(chunked(message, [cut])), header.slice(0, -2), `cut at ${cut}`);
  const huge = Buffer.from(`${'X-Filler: z\r\n'.repeat(6000)}\r\nbody`, 'latin1');
  assert.ok(huge.length > HEADER_SEARCH_BYTES);
  const block = headerBlock(chunked(huge, [16384, 32768, 49152, 65536]));
  assert.equal(block.length, HEADER_SEARCH_BYTES, 'no empty line in the first 64 KB: those 64 KB');
  assert.equal(block, reference(huge));
});

test('random messages in random chunks: the same header block as the regular expression finds', () => {
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const alphabet = ['\r', '\n', '\r\n', 'a', 'b: c', ' ', '.', '\xe9'];
  for (let round = 0; round < 2000; round += 1) {
    const parts: string[] = [];
    for (let i = random(40); i > 0; i -= 1) parts.push(alphabet[random(alphabet.length)]!);
    const message = Buffer.from(parts.join(''), 'latin1');
    const cuts = Array.from({ length: random(4) }, () => random(message.length + 1));
    assert.equal(headerBlock(chunked(message, cuts)), reference(message), JSON.stringify(parts.join('')));
  }
});
