import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandError } from '../../src/shell/errors.js';
import { tokenize } from '../../src/shell/tokenize.js';

test('splits on blanks and keeps quoted words together', () => {
  assert.deepEqual(tokenize('  commit "first listener"  now'), ['commit', 'first listener', 'now']);
  assert.deepEqual(tokenize(`listenerconfig new 'My Listener' --port 25`), ['listenerconfig', 'new', 'My Listener', '--port', '25']);
});

test('backslash escapes and empty quoted words', () => {
  assert.deepEqual(tokenize('a\\ b "say \\"hi\\"" \'\''), ['a b', 'say "hi"', '']);
});

test('an unbalanced quote is an error, not a guess', () => {
  assert.throws(() => tokenize('commit "oops'), CommandError);
});

test('inside double quotes a backslash escapes only a quote or a backslash, as in a POSIX shell', () => {
  assert.deepEqual(tokenize('grep "ICID \\d+ \\"x\\" \\\\" mail_logs'), ['grep', 'ICID \\d+ "x" \\', 'mail_logs']);
});
