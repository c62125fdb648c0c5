import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COMMANDS } from '../../src/commands/index.js';
import { completeLine } from '../../src/shell/repl.js';
import { defaultConfig, validateConfig } from '../../src/store/schema.js';

/** Tab at the shell's prompt: command names, then keywords, then the objects of the configuration. */
const config = validateConfig({
  ...defaultConfig(),
  delivery: { ...defaultConfig().delivery, destinations: [{ domain: 'partner.example' }, { domain: 'other.example' }] },
  smtpRoutes: [{ domain: 'routed.example', hosts: [{ host: 'mx.routed.example', port: 25 }] }],
});
const complete = (line: string, withConfig = true) => completeLine(COMMANDS, line, () => (withConfig ? config : undefined));

test('the first word completes command names, the second the command\'s keywords', () => {
  assert.deepEqual(complete('showch'), ['showchanges']);
  assert.deepEqual(complete('destconfig de'), ['destconfig delete', 'destconfig default', 'destconfig detail']);
});

test('from the third word on: the names of the objects the command works on, not its keywords again', () => {
  assert.deepEqual(complete('destconfig edit part'), ['destconfig edit partner.example']);
  assert.deepEqual(complete('destconfig detail '), ['destconfig detail partner.example', 'destconfig detail other.example']);
  assert.deepEqual(complete('interfaceconfig edit ma'), [`interfaceconfig edit ${config.interfaces[0]!.name}`], 'any case');
  assert.deepEqual(complete('smtproutes delete r'), ['smtproutes delete routed.example']);
  assert.deepEqual(complete('destconfig edit ne'), [], 'the keyword "new" is not offered again');
  assert.deepEqual(complete('destconfig edit part', false), [], 'without a loaded configuration: nothing, no error');
});
