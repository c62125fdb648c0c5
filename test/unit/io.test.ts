import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EndOfInput } from '../../src/shell/errors.js';
import { InvalidAnswer, Io, type Output } from '../../src/shell/io.js';
import { ArraySource } from '../../src/shell/lineSource.js';

/** Answers typed by a person at a terminal: wrong answers are asked again. */
class Typed extends ArraySource {
  override readonly interactive = true as never;
}

function scripted(lines: string[], atTerminal = true) {
  const out: string[] = [];
  const output: Output = { out: (t) => out.push(t), err: () => undefined };
  return { io: new Io(atTerminal ? new Typed(lines) : new ArraySource(lines), output), text: () => out.join('') };
}

test('in a script (no terminal) every kind of invalid answer fails at once, naming the question and the answer', async () => {
  const cases: [(io: Io) => Promise<unknown>, string, RegExp][] = [
    [(io) => io.askInt('Port?', { min: 1, max: 65535 }), 'abc', /^Port\? "abc": Please enter a whole number from 1 to 65535\.$/],
    [(io) => io.ask('Name?'), '', /^Name\? A value is required\.$/],
    [(io) => io.choose('Pick', [{ label: 'A', value: 1 }]), '3', /^Pick "3" is not a valid choice \(1 to 1\)\.$/],
    [(io) => io.confirm('Sure?', false), 'maybe', /^Sure\? "maybe": please answer Y or N\.$/],
    [(io) => io.menu([{ keyword: 'NEW', text: 'Create.' }]), 'frob', /^Unknown option "frob"/],
    [(io) => io.newSecret('Passphrase:', 'Again:'), 'one\ntwo', /^Again: The two entries do not match\.$/],
  ];
  for (const [ask, answer, why] of cases) {
    const { io } = scripted([...answer.split('\n'), 'next line'], false);
    await assert.rejects(ask(io), (e: Error) => e instanceof InvalidAnswer && why.test(e.message), answer);
  }
});

test('an invalid answer prints the reason and asks again', async () => {
  const { io, text } = scripted(['abc', '70000', '2525']);
  assert.equal(await io.askInt('Enter the TCP port for this listener.', { min: 1, max: 65535 }), 2525);
  assert.equal(text().match(/Please enter a whole number from 1 to 65535\./g)?.length, 2);
});

test('an empty answer takes the default in brackets', async () => {
  const { io } = scripted(['', '', '']);
  assert.equal(await io.ask('Name?', { default: 'Demo' }), 'Demo');
  assert.equal(await io.confirm('Sure?', false), false);
  assert.equal(await io.choose('Pick', [{ label: 'Public', value: 'public' }, { label: 'Private', value: 'private' }], 2), 'private');
});

test('numbered choices accept the number or the label', async () => {
  const { io, text } = scripted(['3', 'private']);
  assert.equal(await io.choose('Pick', [{ label: 'Public', value: 1 }, { label: 'Private', value: 2 }]), 2);
  assert.match(text(), /"3" is not a valid choice/);
});

test('menus take keywords in any case; empty goes up a level', async () => {
  const items = [{ keyword: 'NEW', text: 'Create.' }, { keyword: 'DELETE', text: 'Remove.' }];
  const { io, text } = scripted(['frob', 'delete', '']);
  assert.equal(await io.menu(items), 'DELETE');
  assert.equal(await io.menu(items), undefined);
  assert.match(text(), /Choose the operation you want to perform:\n- NEW - Create\.\n- DELETE - Remove\./);
  assert.match(text(), /Unknown option "frob"/);
});

test('validators can refuse an answer; yes/no accepts only yes or no', async () => {
  const { io } = scripted(['bad', 'good', 'maybe', 'y']);
  const v = await io.ask('Word?', {
    validate: (s) => {
      if (s !== 'good') throw new InvalidAnswer('not good');
      return s.toUpperCase();
    },
  });
  assert.equal(v, 'GOOD');
  assert.equal(await io.confirm('Sure?', false), true);
});

test('pasted PEM ends at a line with a dot; end of input inside a dialog throws EndOfInput', async () => {
  const { io } = scripted(['-----BEGIN X-----', 'AAAA', '-----END X-----', '.', 'first']);
  assert.equal(await io.paste('Paste'), '-----BEGIN X-----\nAAAA\n-----END X-----\n');
  assert.equal(await io.ask('One?'), 'first');
  await assert.rejects(io.ask('Two?'), EndOfInput);
});

test('a new secret must be typed the same twice', async () => {
  const { io, text } = scripted(['one', 'two', 'same', 'same']);
  assert.equal(await io.newSecret('Passphrase:', 'Again:'), 'same');
  assert.match(text(), /do not match/);
  assert.doesNotMatch(text(), /same/);
});

test('a new secret that its check refuses is asked again at once, before the second entry', async () => {
  const check = (s: string) => (s.length < 10 ? 'The password must have at least 10 characters.' : undefined);
  const { io, text } = scripted(['short', 'long enough 1', 'long enough 1']);
  assert.equal(await io.newSecret('Password:', 'Again:', check), 'long enough 1');
  assert.match(text(), /Password:\n(> )?The password must have at least 10 characters\. Please try again\.\nPassword:/);
  const piped = scripted(['short', 'short'], false);
  await assert.rejects(piped.io.newSecret('Password:', 'Again:', check), { name: 'InvalidAnswer', message: 'Password: The password must have at least 10 characters.' });
});
