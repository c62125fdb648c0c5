import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { applianceWithListener, cleanup, mxgate, shellOk, submitMail, until } from '../helpers.js';
import { testDnsServer } from '../dns-server.js';
import { type Sink, smtpSink } from '../sink.js';

/**
 * The engine's DNS cache: deliveries to one domain ask the DNS once while its TTL lasts (the test
 * server's answers say 60 s; one message per connection, so each delivery resolves its route), a
 * name that fails (SERVFAIL) is not asked again at once, and dnsflush makes the next delivery ask again.
 */
let home: string;
let port: number;
let sink: Sink;
let dns: Awaited<ReturnType<typeof testDnsServer>>;

before(async () => {
  ({ home, port } = await applianceWithListener());
  sink = await smtpSink();
  dns = await testDnsServer({ 'mx.cached.test': { A: ['127.0.0.1'] }, 'broken.test': { servfail: true } });
  await shellOk(home, `dnsconfig servers 127.0.0.1:${dns.port}`, 'dnsconfig validation resolver', `smtproutes new cached.test mx.cached.test:${sink.port}`, 'listenerconfig edit InboundMail rcptaccess add cached.test', 'destconfig new cached.test --messages-per-connection 1', 'commit "routes by name"');
});
after(async () => {
  await cleanup(home);
  await sink.close();
  await dns.close();
});

const asked = (q: string) => dns.queries.filter((x) => x === q).length;

test('three deliveries to one domain ask for its address once; after dnsflush the next one asks again', async () => {
  for (const n of [1, 2, 3]) {
    await submitMail(port, 'user@cached.test', `cached ${n}`);
    await until(home, `delivery ${n}`, () => sink.received.some((m) => m.data.includes(`Subject: cached ${n}`)));
  }
  assert.equal(asked('mx.cached.test A'), 1, dns.queries.join('\n'));
  assert.match(await shellOk(home, 'dnsflush'), /The DNS cache was cleared \(\d+ answers?\)\./);
  await submitMail(port, 'user@cached.test', 'after the flush');
  await until(home, 'the delivery after the flush', () => sink.received.some((m) => m.data.includes('Subject: after the flush')));
  assert.equal(asked('mx.cached.test A'), 2);
});

test('a SERVFAIL is kept briefly: tlsverify twice asks the broken zone once, and says the lookup failed both times', async () => {
  for (let n = 0; n < 2; n++) assert.match((await mxgate(home, ['-c', 'tlsverify broken.test'])).stdout, /No route to broken\.test: MX lookup for broken\.test failed: broken\.test MX: SERVFAIL/);
  assert.equal(asked('broken.test MX'), 1, dns.queries.join('\n'));
});
