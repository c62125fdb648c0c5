import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { applianceWithListener, cleanup } from '../helpers.js';
import { SmtpProbe } from '../smtp-probe.js';

/** RFC 2920 pipelining and RFC 1870 SIZE, as a client sees them. */
let home: string;
let port: number;
before(async () => {
  ({ home, port } = await applianceWithListener());
});
after(() => cleanup(home));

test('three transactions pipelined in one write all get their replies (RFC 2920)', async () => {
  const socket = net.connect(port, '127.0.0.1');
  let got = '';
  socket.on('data', (d) => (got += d.toString()));
  const until = async (pattern: RegExp, ms = 8000) => {
    const end = Date.now() + ms;
    while (!pattern.test(got)) {
      assert.ok(Date.now() < end, `no ${pattern} in:\n${got}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await until(/^220 /m);
  socket.write('EHLO pipe.example\r\n');
  await until(/^250 /m);
  assert.match(got, /^250-PIPELINING$/m);
  const tx = (n: number) => `MAIL FROM:<a@example.org>\r\nRCPT TO:<u${n}@example.com>\r\nDATA\r\nSubject: ${n}\r\n\r\nbody ${n}\r\n.\r\n`;
  socket.write(tx(1) + tx(2) + tx(3) + 'QUIT\r\n');
  await until(/^221 /m);
  socket.destroy();
  assert.equal((got.match(/^250 Ok: Message MID \d+ accepted$/gm) ?? []).length, 3, got);
  assert.equal((got.match(/^354 /gm) ?? []).length, 3);
});

test('EHLO advertises the SIZE of the client\'s own policy; MAIL with a larger SIZE= gets 552 5.3.4 at once', async () => {
  const { probe } = await SmtpProbe.connect(port);
  const ehlo = await probe.send('EHLO size.example');
  const advertised = Number(/^250[- ]SIZE (\d+)$/m.exec(ehlo)?.[1]);
  assert.equal(advertised, 10485760, 'the default (ACCEPT) policy allows 10 MB, whatever other policies allow');
  assert.equal(await probe.send('MAIL FROM:<a@example.org> SIZE=50000000'), '552 5.3.4 message exceeds fixed maximum message size 10485760');
  assert.match(await probe.send('MAIL FROM:<a@example.org> SIZE=1000'), /^250 /);
  probe.close();
});
