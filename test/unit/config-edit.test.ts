import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addInterface, deleteInterface, editInterface } from '../../src/store/network/interfaces.js';
import { addListener, deleteListener, describeListener, editListener, parsePort } from '../../src/store/listeners/listeners.js';
import { ConfigError, defaultConfig, validateConfig } from '../../src/store/schema.js';

const withListener = () =>
  addListener(defaultConfig(), { name: 'InboundMail', type: 'public', interface: 'management', port: 2525 });

test('the embedded default has the Management interface on 127.0.0.1 and no listeners', () => {
  const c = defaultConfig();
  assert.deepEqual(c.interfaces, [{ name: 'Management', ip: '127.0.0.1' }]);
  assert.deepEqual(c.listeners, []);
  assert.match(c.hostname, /^[A-Za-z0-9.-]+$/);
});

test('adding a listener stores the interface under its own spelling and leaves room for TLS', () => {
  const c = withListener();
  assert.equal(c.listeners[0]!.interface, 'Management');
  assert.equal(c.listeners[0]!.certificate, null);
  assert.equal(describeListener(c, c.listeners[0]!), 'InboundMail (on Management, 127.0.0.1) SMTP TCP Port 2525 Public');
});

test('edits that break the document are refused and change nothing', () => {
  const c = withListener();
  const before = JSON.stringify(c);
  assert.throws(() => addListener(c, { name: 'inboundmail', type: 'private', interface: 'Management', port: 26 }), /already exists/);
  assert.throws(() => addListener(c, { name: 'Other', type: 'private', interface: 'Management', port: 2525 }), /already used by listener "InboundMail"/);
  assert.throws(() => addListener(c, { name: 'Other', type: 'private', interface: 'Nowhere', port: 26 }), /interface "Nowhere" does not exist/);
  assert.throws(() => addListener(c, { name: '9bad', type: 'private', interface: 'Management', port: 26 }), /must start with a letter/);
  assert.throws(() => deleteListener(c, 'Missing'), /No listener named "Missing"\. Known: InboundMail/);
  assert.throws(() => deleteInterface(c, 'Management'), /used by listener\(s\) InboundMail/);
  assert.equal(JSON.stringify(c), before);
});

test('the same port on another interface is fine; renaming an interface carries its listeners', () => {
  let c = addInterface(withListener(), { name: 'Loop2', ip: '127.0.0.2' });
  c = addListener(c, { name: 'Second', type: 'private', interface: 'Loop2', port: 2525 });
  c = editInterface(c, 'loop2', { name: 'Data1' });
  assert.equal(c.listeners[1]!.interface, 'Data1');
  c = editListener(c, 'Second', { port: 2600, name: 'Relay' });
  assert.deepEqual(c.listeners.map((l) => `${l.name}:${l.port}`), ['InboundMail:2525', 'Relay:2600']);
  assert.throws(() => addInterface(c, { name: 'Bad', ip: '300.1.1.1' }), /not an IPv4 or IPv6 address/);
});

test('whole-document validation reports every problem by name', () => {
  const doc = {
    hostname: 'mx.example.com',
    interfaces: [{ name: 'Management', ip: '127.0.0.1' }],
    listeners: [
      { name: 'A', type: 'public', interface: 'Management', port: 70000 },
      { name: 'B', type: 'bogus', interface: 'Management', port: 25 },
    ],
  };
  const err = (() => {
    try {
      validateConfig(doc);
    } catch (e) {
      return e as ConfigError;
    }
    return undefined;
  })();
  assert.ok(err instanceof ConfigError);
  assert.ok(err.details.some((d) => d === 'listener A: port must be 1-65535'), err.message);
  assert.ok(err.details.some((d) => d === 'listener B: type must be one of public, private'), err.message);
});

test('ports are whole numbers from 1 to 65535', () => {
  assert.equal(parsePort('25'), 25);
  for (const bad of ['0', '65536', 'abc', '25.5', '-1', '']) assert.throws(() => parsePort(bad), /not a TCP port/);
});

test('names are unique per list without regard to case; renaming to its own name in another case is allowed', () => {
  let c = addListener(withListener(), { name: 'Second', type: 'private', interface: 'Management', port: 2526 });
  c = addInterface(c, { name: 'Data', ip: '127.0.0.2' });
  assert.throws(() => editListener(c, 'Second', { name: 'INBOUNDMAIL' }), /A listener named "INBOUNDMAIL" already exists\./);
  assert.throws(() => editInterface(c, 'Data', { name: 'management' }), /An interface named "management" already exists\./);
  assert.throws(() => addInterface(c, { name: 'DATA', ip: '127.0.0.3' }), /An interface named "DATA" already exists\./);
  assert.equal(editListener(c, 'second', { name: 'SECOND' }).listeners[1]!.name, 'SECOND');
  assert.equal(editInterface(c, 'data', { name: 'DATA' }).interfaces[1]!.name, 'DATA');
  assert.throws(() => editInterface(c, 'Nowhere', { ip: '127.0.0.9' }), /No interface named "Nowhere"\. Known: Management, Data\./);
});
