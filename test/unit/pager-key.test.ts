import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { EndOfInput } from '../../src/shell/errors.js';
import { ReadlineSource } from '../../src/shell/lineSource.js';

/** The pager's one key at a terminal (an SSH channel is one without being a local TTY). */
function terminal() {
  const input = new PassThrough();
  const output = new PassThrough();
  output.resume();
  return { input, source: new ReadlineSource(input, output, { terminal: true }) };
}

test('a key is read without Enter; what is typed after it goes to the next prompt', async () => {
  const { input, source } = terminal();
  const key = source.key('-- More -- ');
  input.write('qstatus\r');
  assert.equal(await key, 'q');
  assert.equal(await source.read('> ', { command: true }), 'status');
  source.close();
});

test('a session closed while the pager waits (an SSH hang-up) ends the wait: nothing stays pending', async () => {
  const { source } = terminal();
  const key = source.key('-- More -- ');
  source.close();
  assert.equal(await key, 'q');
  await assert.rejects(source.read('> '), EndOfInput);
});
