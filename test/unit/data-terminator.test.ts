import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';
import { feedDataStream } from '../../src/engine/listener/dataTerminator.js';
import { seededRandom } from '../seeded-random.js';

/**
 * dataTerminator.ts against the smtp-server scan it replaces: the same input, cut into the same
 * random segments, goes through smtp-server's SMTPStream once as shipped and once with the
 * replacement, and what each hands on must be the same (every message's content and size, every
 * command line after it, a message left unfinished). The inputs are built from the pieces that
 * matter to SMTP smuggling: CRLF . CRLF, bare LF and CR around dots, stuffed dots, a dot alone at
 * the start.
 */

type Parser = InstanceType<typeof SMTPStream> & { _feedDataStream: unknown; dataBytes: number };

/** Everything a parser hands on, in order: commands, messages, and a message still open at the end. */
async function transcript(segments: Buffer[], replaced: boolean, maxBytes = 0): Promise<string[]> {
  const parser = new SMTPStream() as Parser;
  if (replaced) parser._feedDataStream = feedDataStream;
  const out: string[] = [];
  let open: Buffer[] | undefined;
  parser.oncommand = (line: Buffer, callback: () => void) => {
    const command = line.toString('latin1');
    out.push(`command ${JSON.stringify(command)}`);
    if (command === 'DATA') {
      const stream = parser.startDataMode(maxBytes) as ReturnType<typeof parser.startDataMode> & { sizeExceeded: boolean };
      const chunks: Buffer[] = (open = []);
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        open = undefined;
        out.push(`message ${JSON.stringify(Buffer.concat(chunks).toString('latin1'))} bytes=${parser.dataBytes} exceeded=${stream.sizeExceeded}`);
        setImmediate(() => parser.continue());
      });
    }
    // on the next turn, as the listener's handlers answer (smtpServerAdapter.ts's `later`): a
    // continue() that runs the next DATA within itself would lose that message's continuation
    if (callback) setImmediate(callback);
  };
  for (const s of segments) parser.write(s);
  parser.end();
  await new Promise<void>((resolve) => parser.on('finish', () => resolve()));
  await new Promise((r) => setImmediate(r));
  if (open) out.push(`unfinished ${JSON.stringify(Buffer.concat(open).toString('latin1'))} bytes=${parser.dataBytes}`);
  return out;
}

const PIECES = ['a', 'text ', '.', '..', '\r', '\n', '\r\n', '\r\n.', '\n.', '\r\n..', '\r\n.\r\n', '\n.\r\n', '\r\n.\n', '.\r\n', 'x'.repeat(300), 'NOOP\r\n', 'DATA\r\n'];

function session(rnd: (n: number) => number): Buffer {
  let text = '';
  const messages = 1 + rnd(3);
  for (let m = 0; m < messages; m++) {
    text += rnd(4) === 0 ? 'NOOP\r\nDATA\r\n' : 'DATA\r\n';
    const pieces = rnd(40);
    for (let p = 0; p < pieces; p++) text += PIECES[rnd(PIECES.length)];
    if (rnd(5) !== 0) text += '\r\n.\r\n';
  }
  if (rnd(2) === 0) text += 'QUIT\r\n';
  return Buffer.from(text, 'latin1');
}

function cut(data: Buffer, rnd: (n: number) => number): Buffer[] {
  const segments: Buffer[] = [];
  for (let at = 0; at < data.length; ) {
    const size = rnd(3) === 0 ? 1 + rnd(4) : 1 + rnd(200);
    segments.push(data.subarray(at, at + size));
    at += size;
  }
  return segments;
}

test('random sessions in random segments: the same messages and commands as smtp-server\'s scan', async () => {
  for (let seed = 1; seed <= 1500; seed++) {
    const rnd = seededRandom(seed);
    const data = session(rnd);
    const segments = seed % 10 === 0 ? [data] : cut(data, rnd);
    const maxBytes = seed % 7 === 0 ? 50 : 0;
    assert.deepEqual(await transcript(segments, true, maxBytes), await transcript(segments, false, maxBytes), `seed ${seed}: ${JSON.stringify(data.toString('latin1'))}`);
  }
});

test('the cases smuggling relies on, byte by byte and whole', async () => {
  const cases: Array<[string, string[]]> = [
    ['DATA\r\nhello\r\n..dot\r\n.\r\nNOOP\r\n', ['command "DATA"', 'message "hello\\r\\n.dot\\r\\n" bytes=13 exceeded=false', 'command "NOOP"']],
    ['DATA\r\nhello\n.\r\nMAIL FROM:<x@y>\r\n.\r\n', ['command "DATA"', 'message "hello\\n.\\r\\nMAIL FROM:<x@y>\\r\\n" bytes=26 exceeded=false']],
    ['DATA\r\n..\r\n.\r\n', ['command "DATA"', 'message ".\\r\\n" bytes=3 exceeded=false']],
    ['DATA\r\n.\r\nNOOP\r\n', ['command "DATA"', 'message "" bytes=0 exceeded=false', 'command "NOOP"']],
    ['DATA\r\nbody\r\n.\nRCPT TO:<z@y>\r\n', ['command "DATA"', 'unfinished "body\\r\\n.\\nRCPT TO:<z@" bytes=19']],
  ];
  for (const [input, expected] of cases) {
    const data = Buffer.from(input, 'latin1');
    const bytes = [...data].map((b) => Buffer.from([b]));
    assert.deepEqual(await transcript([data], true), expected, input);
    if (!expected.some((e) => e.startsWith('unfinished'))) assert.deepEqual(await transcript(bytes, true), expected, `${input}, a byte at a time`);
  }
});
