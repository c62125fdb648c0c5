import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { applianceWithListener, cleanup, shellOk, submitMail, until } from '../helpers.js';
import { testDnsServer } from '../dns-server.js';

/**
 * What a hostile zone can make one delivery attempt cost: a domain with 60 MX hosts of three
 * addresses each is tried on its 5 most preferred hosts and 10 addresses, and the cuts are logged.
 */
let home: string;
let port: number;
let dns: Awaited<ReturnType<typeof testDnsServer>>;

before(async () => {
  ({ home, port } = await applianceWithListener());
  const records: Parameters<typeof testDnsServer>[0] = { 'many.test': { MX: [] } };
  for (let i = 1; i <= 60; i += 1) {
    records['many.test']!.MX!.push({ preference: i, exchange: `mx${i}.many.test` });
    // Nothing listens on port 25 at these addresses: every connection is refused at once.
    records[`mx${i}.many.test`] = { A: ['127.0.0.7', '127.0.0.8', '127.0.0.9'] };
  }
  dns = await testDnsServer(records);
  await shellOk(home, 'listenerconfig edit InboundMail rcptaccess add many.test', `dnsconfig servers 127.0.0.1:${dns.port}`, 'dnsconfig validation resolver', 'commit "many MX"');
});
after(async () => {
  await cleanup(home);
  await dns.close();
});

test('60 MX hosts: only the 5 most preferred are looked up and at most 10 addresses tried, each cut logged', async () => {
  const mid = await submitMail(port, 'user@many.test', 'to a domain with many MX hosts');
  const log = await until(home, 'the delivery attempt', async () => {
    const l = await readFile(path.join(home, 'logs', 'mail_logs', 'mail.current'), 'utf8');
    return new RegExp(`MID ${mid}.*(deferred|Delayed)|Delayed.*MID ${mid}`).test(l) && /only the first 10 are tried/.test(l) ? l : undefined;
  });
  assert.match(log, /Route to many\.test: 60 MX hosts; only the 5 most preferred are used/);
  assert.match(log, /Route to many\.test: 15 addresses for the MX hosts; only the first 10 are tried/);
  const looked = dns.queries.filter((q) => /^mx\d+\.many\.test (A|AAAA)$/.test(q));
  assert.deepEqual([...new Set(looked.map((q) => q.split(' ')[0]))].sort(), ['mx1.many.test', 'mx2.many.test', 'mx3.many.test', 'mx4.many.test', 'mx5.many.test']);
});
