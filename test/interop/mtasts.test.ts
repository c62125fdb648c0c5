import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { applianceWithListener, cleanup, shellOk, submitMail, until as untilIn } from '../helpers.js';
import { type Records, testDnsServer } from '../dns-server.js';
import { opensslChain } from '../pki-fixtures.js';
import { type Postfix, startPostfix } from '../postfix.js';
import { enforcePolicy, stsPolicyHost } from '../sts-host.js';

/**
 * MTA-STS against real Postfix peers: an enforce policy (served over HTTPS on 127.0.0.7:443) naming
 * a Postfix with a certificate for its host name, and one naming a Postfix without STARTTLS.
 */
let home: string;
let port: number;
let tlsPeer: Postfix;
let plainPeer: Postfix;
let dns: Awaited<ReturnType<typeof testDnsServer>>;
let host: Awaited<ReturnType<typeof stsPolicyHost>>;
const chain = opensslChain();
const records: Records = {};
const shell = (...lines: string[]) => shellOk(home, ...lines);
const mailLog = () => readFile(path.join(home, 'logs', 'mail_logs', 'mail.current'), 'utf8');
const until = <T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs?: number) => untilIn(home, what, probe, timeoutMs);

before(async () => {
  const leaf = chain.issueWithKey('mx.pf-sts.test', ['mx.pf-sts.test']);
  tlsPeer = await startPostfix({ domain: 'pf-sts.test', hostname: 'mx.pf-sts.test', tls: { key: leaf.key, cert: leaf.cert + chain.intermediate } });
  plainPeer = await startPostfix({ domain: 'pf-sts-plain.test', hostname: 'mx.pf-sts-plain.test' });
  dns = await testDnsServer(records);
  host = await stsPolicyHost(chain, '127.0.0.7');
  for (const d of ['pf-sts.test', 'pf-sts-plain.test']) {
    records[`mx.${d}`] = { A: ['127.0.0.1'] };
    records[`_mta-sts.${d}`] = { TXT: ['v=STSv1; id=1'] };
    records[`mta-sts.${d}`] = { A: ['127.0.0.7'] };
    host.policies.set(d, { body: enforcePolicy([`mx.${d}`]) });
  }
  ({ home, port } = await applianceWithListener());
  await writeFile(path.join(home, 'configuration', 'root.pem'), chain.root);
  await shell(
    'listenerconfig edit InboundMail rcptaccess add .test',
    `dnsconfig servers 127.0.0.1:${dns.port}`,
    'dnsconfig validation resolver', // the test server stands in for a validating resolver (AD bit)
    `smtproutes new pf-sts.test mx.pf-sts.test:${tlsPeer.port}`,
    `smtproutes new pf-sts-plain.test mx.pf-sts-plain.test:${plainPeer.port}`,
    'destconfig default --tls preferred --mta-sts yes',
    'certconfig certauthority custom import --file root.pem',
    'certconfig certauthority custom enable',
    'commit "postfix peers under MTA-STS"',
  );
});
after(async () => {
  await cleanup(home);
  await Promise.all([tlsPeer?.stop(), plainPeer?.stop(), dns?.close(), host?.close()]);
});

test('MTA-STS on the default entry, enforce: Postfix gets the message over TLS, verified for its host name', async () => {
  await submitMail(port, 'alice@pf-sts.test', 'sts to postfix');
  const got = await until('the message in the Maildir', async () => (await tlsPeer.messages()).find((m) => m.includes('Subject: sts to postfix')));
  assert.match(got, /Received: from .*\(using TLSv1\.[23] with cipher /s, 'Postfix saw TLS');
  const log = await mailLog();
  assert.match(log, /Info: MTA-STS policy for the domain \(pf-sts\.test\) Successful\./);
  assert.match(log, /TLS success protocol TLSv1\.[23] cipher \S+ verified yes/);
});

test('MTA-STS enforce, Postfix without STARTTLS: nothing reaches it, the message waits', async () => {
  await submitMail(port, 'bob@pf-sts-plain.test', 'sts to plain postfix');
  await until('the MTA-STS connection failure', async () => /Connection for the domain \(pf-sts-plain\.test\) failed when MTA-STS Policy was enforced\./.test(await mailLog()));
  assert.equal((await plainPeer.messages()).length, 0);
  assert.match(await plainPeer.log(), /connect from/, 'mxgate did connect, and left without a transaction');
  assert.ok((await readdir(path.join(home, 'queue'))).some((f) => f.endsWith('.msg')), 'still queued');
});
