import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { SyslogSender } from '../../src/engine/log/syslogPush.js';
import { parseSyslogUrl, syslogUrlProblem } from '../../src/store/logs/syslogTarget.js';
import { syslogReceiver } from '../syslog-receiver.js';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitFor(what: string, probe: () => boolean): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a receiver that is down: lines wait up to the bound, the rest are dropped and counted, and the receiver is told', async () => {
  const port = await freePort();
  const reports: string[] = [];
  const sender = new SyslogSender(parseSyslogUrl(`tcp://127.0.0.1:${port}`), { hostname: 'mx.example', log: 'mail_logs', facility: 2, bufferLines: 5, report: (_l, t) => reports.push(t) });
  await waitFor('the failure report', () => reports.length > 0);
  assert.match(reports[0]!, new RegExp(`Syslog push of mail_logs to tcp://127\\.0\\.0\\.1:${port} failed: .*ECONNREFUSED`));
  for (let i = 1; i <= 8; i += 1) sender.send('Info', `line ${i}`);
  assert.equal(sender.droppedTotal, 3);
  const r = await syslogReceiver('tcp', port);
  try {
    await waitFor('the buffered lines', () => r.messages.length >= 6);
    assert.deepEqual(
      r.messages.map((m) => m.text),
      ['Warning: 3 mail_logs line(s) were dropped while this receiver could not take them', 'Info: line 1', 'Info: line 2', 'Info: line 3', 'Info: line 4', 'Info: line 5'],
    );
    assert.equal(r.messages[0]!.pri, 2 * 8 + 4);
    assert.equal(r.messages[0]!.hostname, 'mx.example');
    sender.send('Warning', 'after');
    await waitFor('the next line', () => r.messages.length === 7);
    assert.equal(r.messages[6]!.text, 'Warning: after');
    assert.match(reports.at(-1)!, /the receiver is reachable again/);
  } finally {
    sender.close();
    await r.close();
  }
});

test('syslog URLs: the three transports, a port and a host name or address', () => {
  assert.deepEqual(parseSyslogUrl('tcp+tls://logs.example.com:6514'), { transport: 'tcp+tls', host: 'logs.example.com', port: 6514 });
  assert.deepEqual(parseSyslogUrl('udp://[::1]:514'), { transport: 'udp', host: '::1', port: 514 });
  for (const bad of ['tls://a:1', 'tcp://a', 'tcp://:514', 'udp://[127.0.0.1]:514', 'tcp://a b:1', 'tcp://a:0']) assert.ok(syslogUrlProblem(bad), bad);
});
