import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { DnsClient } from '../../src/engine/dns/client.js';
import { destinationControl, type MxRequirement, requirementForMx, type TlsPolicy } from '../../src/engine/delivery/policy/chain.js';
import { danePolicy } from '../../src/engine/delivery/policy/dane.js';
import { mtaStsPolicy, stsPeerCheck } from '../../src/engine/delivery/policy/mtasts.js';
import { policiesFor } from '../../src/engine/delivery/policy/policies.js';
import type { Target } from '../../src/engine/delivery/route.js';
import { MailLog } from '../../src/engine/log/mailLog.js';
import { fetchPolicy, MAX_POLICY_BYTES, StsFetchError } from '../../src/engine/mtasts/fetch.js';
import { mxMatches, parsePolicyText, parseStsRecords, StsFormatError } from '../../src/engine/mtasts/parse.js';
import { type CachedPolicy, MtaStsService, type SharedPolicy, type SharedStsCache, type StsLookup } from '../../src/engine/mtasts/service.js';
import type { SessionReport } from '../../src/engine/tlsrpt/results.js';
import { association } from '../../src/pki/tlsa.js';
import { destinationFor } from '../../src/store/destinations/destinations.js';
import { putDestination, setDestinationDefaults } from '../../src/store/destinations/edits.js';
import { defaultConfig } from '../../src/store/schema.js';
import { type Records, testDnsServer } from '../dns-server.js';
import { opensslChain } from '../pki-fixtures.js';
import { enforcePolicy, stsPolicyHost } from '../sts-host.js';

const chain = opensslChain();

test('TXT discovery: exactly one v=STSv1 record with an id of 1-32 letters or digits', () => {
  const ok: [string[], string][] = [
    [['v=STSv1; id=20240101T000000'], '20240101T000000'],
    [['v=STSv1;id=abc'], 'abc'],
    [['v=STSv1; id=abc;'], 'abc'],
    [['v=spf1 -all', 'v=STSv1; id=1; ext=x'], '1'],
    [[`v=STSv1; id=${'a'.repeat(32)}`], 'a'.repeat(32)],
  ];
  for (const [txts, id] of ok) assert.equal(parseStsRecords(txts), id, txts.join(' | '));
  const bad: [string[], RegExp][] = [
    [[], /no TXT record begins with v=STSv1/],
    [['v=spf1 -all'], /no TXT record/],
    [['v=STSv1; id=1', 'v=STSv1; id=2'], /2 TXT records begin with v=STSv1/],
    [['v=STSv1'], /has no id/],
    [[`v=STSv1; id=${'a'.repeat(33)}`], /not 1-32 letters or digits/],
    [['v=STSv1; id=ab-c'], /not 1-32 letters or digits/],
    [['v=STSv1; id=1; id=2'], /appears twice/],
    [['v=STSv1; id 1'], /bad field/],
    [['v=STSv10; id=1'], /no TXT record/],
  ];
  for (const [txts, why] of bad) assert.throws(() => parseStsRecords(txts), (e: Error) => e instanceof StsFormatError && why.test(e.message), txts.join(' | '));
});

test('policy files: LF or CRLF; version, mode, max_age and mx checked; unknown keys ignored', () => {
  assert.deepEqual(parsePolicyText('version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmax_age: 604800\n'), { mode: 'enforce', mx: ['mail.example.com', '*.example.net'], maxAge: 604800 });
  assert.deepEqual(parsePolicyText('version: STSv1\r\nmode: testing\r\nmx: MX.Example.com.\r\nmax_age: 86400\r\nextension: whatever\r\n'), { mode: 'testing', mx: ['mx.example.com'], maxAge: 86400 });
  assert.deepEqual(parsePolicyText('version: STSv1\nmode: none\nmax_age: 0'), { mode: 'none', mx: [], maxAge: 0 });
  assert.equal(parsePolicyText('version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557600\n').maxAge, 31557600);
  const bad: [string, RegExp][] = [
    ['mode: enforce\nmx: a.example\nmax_age: 1\n', /there is no version line/],
    ['version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n', /version "STSv2" is not STSv1/],
    ['version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1\n', /mode "strict"/],
    ['version: STSv1\nmx: a.example\nmax_age: 1\n', /no mode line/],
    ['version: STSv1\nmode: enforce\nmx: a.example\n', /no max_age line/],
    ['version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n', /max_age "31557601"/],
    ['version: STSv1\nmode: enforce\nmx: a.example\nmax_age: xxx\n', /max_age "xxx"/],
    ['version: STSv1\nmode: enforce\nmax_age: 86400\n', /mode enforce needs at least one mx/],
    ['version: STSv1\nmode: enforce\nmode: testing\nmx: a.example\nmax_age: 1\n', /"mode" appears twice/],
    ['version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 1\n', /mx "a\.\.example"/],
    ['version: STSv1\nmode: enforce\nmx: a.*.example\nmax_age: 1\n', /mx "a\.\*\.example"/],
    ['<html><body>hello</body></html>', /not a "key: value" line/],
  ];
  for (const [text, why] of bad) assert.throws(() => parsePolicyText(text), (e: Error) => e instanceof StsFormatError && why.test(e.message), JSON.stringify(text));
});

test('MX patterns: exact names, "*." for exactly one left-most label, case and trailing dot ignored', () => {
  const rows: [string, string, boolean][] = [
    ['mail.example.com', 'mail.example.com', true],
    ['mail.example.com', 'MAIL.example.com.', true],
    ['mail.example.com', 'mail2.example.com', false],
    ['*.example.com', 'mx1.example.com', true],
    ['*.example.com', 'a.b.example.com', false],
    ['*.example.com', 'example.com', false],
    ['*.example.com', 'mx1.example.org', false],
    ['*.mail.protection.outlook.com', 'example-com.mail.protection.outlook.com', true],
  ];
  for (const [pattern, host, want] of rows) assert.equal(mxMatches(pattern, host), want, `${pattern} ~ ${host}`);
});

describeFetch();
function describeFetch() {
  let dns: Awaited<ReturnType<typeof testDnsServer>>;
  let host: Awaited<ReturnType<typeof stsPolicyHost>>;
  const records: Records = {};
  const opts = () => ({ dns: new DnsClient([{ host: '127.0.0.1', port: dns.port }]), trusted: [chain.root], port: host.port, timeoutMs: 15_000 });
  before(async () => {
    dns = await testDnsServer(records);
    host = await stsPolicyHost(chain, '127.0.0.1', 0);
    for (const d of ['good', 'notfound', 'redirect', 'html', 'huge', 'other-ca', 'wrong-name', 'garbage']) records[`mta-sts.${d}.test`] = { A: ['127.0.0.1'] };
    host.policies.set('good.test', { body: enforcePolicy(['*.good.test']) });
    host.policies.set('redirect.test', { body: '', status: 301, headers: { Location: 'https://elsewhere.test/' } });
    host.policies.set('html.test', { body: enforcePolicy(['mx.html.test']), contentType: 'text/html' });
    host.policies.set('huge.test', { body: enforcePolicy(['mx.huge.test']) + `x: ${'y'.repeat(MAX_POLICY_BYTES)}\n` });
    const otherCa = chain.issueWithKey('mta-sts.other-ca.test', ['mta-sts.other-ca.test']);
    host.policies.set('other-ca.test', { body: enforcePolicy(['mx.other-ca.test']), cert: { key: otherCa.key, cert: otherCa.cert } });
    host.policies.set('wrong-name.test', { body: enforcePolicy(['mx.wrong-name.test']), cert: chain.issueWithKey('mta-sts.elsewhere.test', ['mta-sts.elsewhere.test']) });
    host.policies.set('garbage.test', { body: 'version: STSv1\nmode: enforce\nmax_age: 86400\n' });
  });
  after(async () => {
    await dns.close();
    await host.close();
  });

  test('fetch: a good policy over HTTPS from the address our DNS client gives', async () => {
    assert.deepEqual(await fetchPolicy('good.test', opts()), { mode: 'enforce', mx: ['*.good.test'], maxAge: 86400 });
    assert.ok(dns.queries.includes('mta-sts.good.test A'), 'the policy host was resolved by the engine\'s DNS client');
  });

  test('fetch failures carry their RFC 8460 result type and say what was wrong', async () => {
    const rows: [string, StsFetchError['type'], RegExp, Partial<ReturnType<typeof opts>>?][] = [
      ['notfound.test', 'sts-policy-fetch-error', /HTTP status 404/],
      ['redirect.test', 'sts-policy-fetch-error', /HTTP status 301 \(redirect to https:\/\/elsewhere\.test\/ not followed\)/],
      ['html.test', 'sts-policy-invalid', /Content-Type "text\/html" is not text\/plain/],
      ['huge.test', 'sts-policy-invalid', /larger than 65536 bytes/],
      ['garbage.test', 'sts-policy-invalid', /mode enforce needs at least one mx/],
      ['wrong-name.test', 'sts-webpki-invalid', /mta-sts\.wrong-name\.test/],
      ['good.test', 'sts-webpki-invalid', /self.signed|unable to (get|verify)/i, { trusted: [chain.otherRoot] }],
      ['nohost.test', 'sts-policy-fetch-error', /mta-sts\.nohost\.test has no address/],
      ['good.test', 'sts-webpki-invalid', /no certificate authority list is enabled/, { trusted: [] }],
    ];
    for (const [domain, type, why, over] of rows) {
      await assert.rejects(fetchPolicy(domain, { ...opts(), ...over }), (e: Error) => e instanceof StsFetchError && e.type === type && why.test(e.message), `${domain}: expected ${type} ${why}`);
    }
  });

  test('the MTA-STS cache: kept until max_age, refetched on a new id, kept when the record goes or a refetch fails, survives a restart', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mxg-sts-'));
    const logDir = mkdtempSync(path.join(os.tmpdir(), 'mxg-stslog-'));
    const log = new MailLog(logDir);
    log.open();
    log.setLevel('debug');
    let now = Date.parse('2026-12-01T00:00:00Z');
    const fetcher: typeof fetchPolicy = (d, o) => fetchPolicy(d, { ...o, port: host.port, timeoutMs: 15_000 });
    const sources = { dns: new DnsClient([{ host: '127.0.0.1', port: dns.port }]), trusted: [chain.root] };
    records['_mta-sts.cache.test'] = { TXT: ['v=STSv1; id=one'] };
    records['mta-sts.cache.test'] = { A: ['127.0.0.1'] };
    host.policies.set('cache.test', { body: enforcePolicy(['mx.cache.test'], 3600) });
    writeFileSync(path.join(dir, 'broken.json'), '{ not json');
    const service = new MtaStsService(dir, log, () => now, fetcher);
    const first = await service.policyFor('cache.test', sources);
    assert.equal(first.policy?.mode, 'enforce');
    assert.equal(host.fetches.get('cache.test'), 1);

    now += 10 * 60_000; // past the TXT recheck: same id, no refetch
    await service.policyFor('cache.test', sources); // stale answer now, TXT checked in the background
    await until(() => dns.queries.filter((q) => q === '_mta-sts.cache.test TXT').length >= 2);
    assert.equal(host.fetches.get('cache.test'), 1, 'an unchanged id does not refetch');

    records['_mta-sts.cache.test'] = { TXT: ['v=STSv1; id=two'] };
    host.policies.set('cache.test', { body: enforcePolicy(['mx2.cache.test'], 3600) });
    now += 10 * 60_000;
    await service.policyFor('cache.test', sources);
    await until(() => host.fetches.get('cache.test') === 2);
    await until(async () => (await service.policyFor('cache.test', sources)).policy?.id === 'two');
    assert.deepEqual((await service.policyFor('cache.test', sources)).policy?.mx, ['mx2.cache.test'], 'a new id fetched the new policy');

    // The record disappears and the host fails: the unexpired policy stays in force.
    delete records['_mta-sts.cache.test'];
    host.policies.set('cache.test', { body: 'gone', status: 500 });
    now += 10 * 60_000;
    const restarted = new MtaStsService(dir, log, () => now, fetcher);
    const kept = await restarted.policyFor('cache.test', sources);
    assert.equal(kept.policy?.id, 'two', 'read back from disk after a "restart", kept without a TXT record');
    records['_mta-sts.cache.test'] = { TXT: ['v=STSv1; id=three'] };
    now += 10 * 60_000;
    const failed = await new MtaStsService(dir, log, () => now, fetcher).policyFor('cache.test', sources);
    assert.equal(failed.policy?.id, 'two', 'a failed refetch keeps the cached policy');
    assert.equal(failed.failure?.type, 'sts-policy-fetch-error');

    now += 3600_000; // past max_age: nothing left
    const gone = await new MtaStsService(dir, log, () => now, fetcher).policyFor('cache.test', sources);
    assert.equal(gone.policy, null);
    records['_mta-sts.cache.test'] = { TXT: ['v=STSv1; id=four', 'v=STSv1; id=five'] };
    await new MtaStsService(dir, log, () => now, fetcher).policyFor('cache.test', sources);
    log.flush();
    const text = readFileSync(log.file, 'utf8');
    for (const line of [
      "Debug: DNS query: Q(_mta-sts.cache.test, 'TXT')",
      'Info: Successfully fetched MTA-STS TXT record for domain(cache.test)',
      'Debug: Fetch MTA-STS policy for the domain(cache.test)',
      'Info: Successfully fetched MTA-STS policy for the domain(cache.test)',
      'Debug: MTA-STS Cache entry added for the domain (cache.test).',
      'Info: No MTA-STS record for domain(cache.test)',
      'Info: MTA-STS record Error(Invalid MTA-STS TXT records found) for domain(cache.test)',
      'Info: Failure encountered while fetching MTA-STS policy for the domain(cache.test)',
      'Warning: MTA-STS cache file broken.json cannot be read; it is ignored',
    ]) assert.ok(text.includes(line), `log has "${line}"`);
    log.close();
  });

  test('cluster: a policy another member shared between our read and our claim is taken, not fetched again', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mxg-sts-'));
    const log = new MailLog(mkdtempSync(path.join(os.tmpdir(), 'mxg-stslog-')));
    log.open();
    const now = Date.parse('2026-12-01T00:00:00Z');
    records['_mta-sts.shared.test'] = { TXT: ['v=STSv1; id=7'] };
    const sources = { dns: new DnsClient([{ host: '127.0.0.1', port: dns.port }]), trusted: [chain.root] };
    let stored: SharedPolicy | null = null;
    let released = 0;
    let fetches = 0;
    const shared: SharedStsCache = {
      member: 'mx2',
      get: async () => stored,
      put: async () => assert.fail('this member fetched nothing, so shares nothing'),
      // mx1 finishes its fetch, shares the policy and releases its claim just before ours succeeds.
      claim: async () => {
        stored = { mode: 'enforce', mx: ['*.shared.test'], maxAge: 86400, id: '7', fetchedAt: new Date(now).toISOString(), expiresAt: new Date(now + 86400_000).toISOString(), fetchedBy: 'mx1' };
        return true;
      },
      release: async () => {
        released += 1;
      },
    };
    const service = new MtaStsService(dir, log, () => now, async () => {
      fetches += 1;
      return { mode: 'enforce', mx: ['*.shared.test'], maxAge: 86400 };
    }, () => shared);
    const lookup = await service.policyFor('shared.test', sources);
    assert.equal(fetches, 0, 'the policy mx1 shared is used');
    assert.deepEqual(lookup.policy?.mx, ['*.shared.test']);
    assert.equal(released, 1, 'the claim this member no longer needs is released');
    log.close();
  });

  test('repeated fetch failures stop fetching for a day, with the guide\'s log line', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mxg-sts-'));
    const log = new MailLog(mkdtempSync(path.join(os.tmpdir(), 'mxg-stslog-')));
    log.open();
    let now = Date.parse('2026-12-01T00:00:00Z');
    records['_mta-sts.flaky.test'] = { TXT: ['v=STSv1; id=1'] };
    const sources = { dns: new DnsClient([{ host: '127.0.0.1', port: dns.port }]), trusted: [chain.root] };
    let fetches = 0;
    const service = new MtaStsService(dir, log, () => now, async (d, o) => {
      fetches += 1;
      return fetchPolicy(d, { ...o, port: host.port, timeoutMs: 15_000 });
    });
    for (let i = 0; i < 5; i++) {
      now += 10 * 60_000;
      await service.policyFor('flaky.test', sources);
      await until(() => !service['inflight'].size);
    }
    assert.equal(fetches, 3, 'three failures, then no more fetching');
    log.flush();
    assert.match(readFileSync(log.file, 'utf8'), /Info: Failures encountered while fetching STS policy, successive request is skipped for a day\./);
    const [entry] = (await service.status()).filter((e) => e.domain === 'flaky.test');
    assert.ok(entry?.skipUntil && Date.parse(entry.skipUntil) === now - 20 * 60_000 + 24 * 3600_000);
    now += 24 * 3600_000;
    await service.policyFor('flaky.test', sources);
    await until(() => fetches === 4);
    log.close();
  });

test('policies in use are refetched in the background before they expire; unused expired ones are forgotten', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mxg-sts-'));
    const log = new MailLog(mkdtempSync(path.join(os.tmpdir(), 'mxg-stslog-')));
    log.open();
    let now = Date.parse('2026-12-01T00:00:00Z');
    records['_mta-sts.renew.test'] = { TXT: ['v=STSv1; id=1'] };
    records['mta-sts.renew.test'] = { A: ['127.0.0.1'] };
    host.policies.set('renew.test', { body: enforcePolicy(['mx.renew.test'], 7200) });
    const sources = { dns: new DnsClient([{ host: '127.0.0.1', port: dns.port }]), trusted: [chain.root] };
    const service = new MtaStsService(dir, log, () => now, (d, o) => fetchPolicy(d, { ...o, port: host.port, timeoutMs: 15_000 }));
    const first = await service.policyFor('renew.test', sources);
    assert.equal(host.fetches.get('renew.test'), 1);
    now += 1000_000; // 1000 s of 7200: not due yet
    assert.deepEqual(await service.refreshDue(sources), []);
    now += 3000_000; // less than half of max_age left: renewed although the id is the same
    assert.deepEqual(await service.refreshDue(sources), ['renew.test']);
    assert.equal(host.fetches.get('renew.test'), 2);
    const renewed = await service.policyFor('renew.test', sources);
    assert.ok(Date.parse(renewed.policy!.expiresAt) > Date.parse(first.policy!.expiresAt), 'the expiry moved on');
    // Unused for longer than the policy lives: not renewed, and forgotten a month after it expires.
    now += 40 * 24 * 3600_000;
    assert.deepEqual(await service.refreshDue(sources), []);
    assert.deepEqual((await service.status()).map((e) => e.domain).filter((d) => d === 'renew.test'), []);
    log.close();
  });
}

async function until(probe: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

// ---- The DANE × MTA-STS tables of the AsyncOS guide, at the demand and judge stages ----

const target = (mxHost: string, mx: 'secure' | 'insecure' | 'bogus', address: 'secure' | 'insecure' | 'bogus' = mx): Target => ({ host: '127.0.0.1', port: 25, mxHost, dnssec: { mx, address, canonical: mxHost } });
const policy = (mode: CachedPolicy['mode'], mx: string[]): CachedPolicy => ({ mode, mx, maxAge: 86400, id: '1', fetchedAt: '', expiresAt: '2100-01-01T00:00:00Z' });
const leaf = chain.issueWithKey('mx.sts.test', ['mx.sts.test']);
const peerOf = (pem: string) => ({ chain: [new X509Certificate(pem).raw, new X509Certificate(chain.intermediate).raw], protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' });

function testLog(): { log: MailLog; text: () => string } {
  const log = new MailLog(mkdtempSync(path.join(os.tmpdir(), 'mxg-log-')));
  log.open();
  return {
    log,
    text: () => {
      log.flush(); // lines are buffered for one turn of the event loop
      return readFileSync(log.file, 'utf8');
    },
  };
}

type Tlsa = 'match' | 'none' | 'bogus' | 'insecure';
function chainFor(dane: 'none' | 'opportunistic', tlsa: Tlsa, sts: StsLookup, log: MailLog, reports: SessionReport[] = []): TlsPolicy[] {
  const records = tlsa === 'match' ? [{ name: '_25._tcp.mx.sts.test', type: 'TLSA', data: { usage: 3, selector: 1, matchingType: 1, certificate: association(new X509Certificate(leaf.cert), 1, 1) } }] : [];
  const security = tlsa === 'bogus' ? 'bogus' : tlsa === 'insecure' ? 'insecure' : 'secure';
  const policies: TlsPolicy[] = [destinationControl('preferred', { trusted: [chain.root] })];
  if (dane !== 'none') policies.push(danePolicy(dane, 'sts.test', async () => ({ security, rcode: tlsa === 'bogus' ? 'SERVFAIL' : 'NOERROR', records: records as never, canonical: '_25._tcp.mx.sts.test' })));
  policies.push(mtaStsPolicy('sts.test', { lookup: async () => sts, trusted: [chain.root], log, reports: { record: (r) => reports.push(r) } }));
  return policies;
}
const demandFor = (policies: TlsPolicy[], mxHost = 'mx.sts.test', t: Target = target(mxHost, 'secure')): Promise<MxRequirement> => requirementForMx('preferred', policies, { domain: 'sts.test', mxHost, target: t });

test('DANE None + MTA-STS: success requires TLS; MX not in policy or failed verification → not delivered; other failures → the TLS setting', async () => {
  const { log, text } = testLog();
  const enforce = { policy: policy('enforce', ['mx.sts.test']) };
  const ok = await demandFor(chainFor('none', 'none', enforce, log));
  assert.deepEqual([ok.attempt, ok.mustEncrypt, ok.verify, ok.refuse], [true, true, 'must', undefined], 'STS success: TLS required and verified');
  assert.match(text(), /Info: Applying MTA-STS policy for the domain \(sts\.test\)\.\n.*Info: Enforcing TLS for MTA-STS Policy/);
  const stray = await demandFor(chainFor('none', 'none', enforce, log), 'mx.elsewhere.test', target('mx.elsewhere.test', 'insecure'));
  assert.match(stray.refuse ?? '', /MTA-STS: MX\(mx\.elsewhere\.test\) does not match the policy of sts\.test \(mx: mx\.sts\.test\)/);
  assert.match(text(), /Info: Applying MTA-STS policy for the domain \(sts\.test\) Failed\./);
  const policies = chainFor('none', 'none', enforce, log);
  const req = await demandFor(policies);
  const bad = await policies[1]!.judge!({ domain: 'sts.test', mxHost: 'mx.sts.test' }, req, peerOf(chain.issueWithKey('mx.other.test', ['mx.other.test']).cert));
  assert.deepEqual(bad, { ok: false, reason: 'MTA-STS: no subjectAltName dNSName (mx.other.test) matches mx.sts.test' }, 'certificate verification failed: not delivered');
  assert.deepEqual(await policies[1]!.judge!({ domain: 'sts.test', mxHost: 'mx.sts.test' }, req, peerOf(leaf.cert)), { ok: true, by: 'MTA-STS' });
  for (const other of [{ policy: null }, { policy: null, failure: { type: 'sts-policy-fetch-error' as const, detail: 'x' } }, { policy: policy('none', []) }]) {
    const r = await demandFor(chainFor('none', 'none', other, log));
    assert.deepEqual([r.attempt, r.mustEncrypt, r.verify, r.refuse], [true, false, 'none', undefined], `no policy (${JSON.stringify(other)}): the TLS setting (Preferred) decides`);
  }
  log.close();
});

test('DANE Opportunistic + MTA-STS: DANE success wins and MTA-STS is skipped; DANE failure or BOGUS is never rescued; insecure DNS → the None table', async () => {
  const { log, text } = testLog();
  const enforce = { policy: policy('enforce', ['mx.sts.test']) };
  const dane = await demandFor(chainFor('opportunistic', 'match', enforce, log));
  assert.ok(dane.dane, 'DANE authenticates');
  assert.deepEqual(dane.by, ['destination control', 'DANE'], 'MTA-STS had no say');
  assert.match(text(), /Info: MTA-STS policy will be skipped for the \(sts\.test\) due to DANE being enforced\./);
  const bogus = await demandFor(chainFor('opportunistic', 'bogus', enforce, log));
  assert.match(bogus.refuse ?? '', /^DANE FAILED: BOGUS TLSA record/, 'BOGUS TLSA: not delivered, even with an STS policy');
  const bogusMx = await demandFor(chainFor('opportunistic', 'none', enforce, log), 'mx.sts.test', target('mx.sts.test', 'bogus'));
  assert.match(bogusMx.refuse ?? '', /^DANE FAILED: the MX lookup for sts\.test failed validation/);
  // DANE verification failure at the judge stage: the DANE judgement fails, MTA-STS does not judge.
  const policies = chainFor('opportunistic', 'match', enforce, log);
  const req = await demandFor(policies);
  const other = chain.issueWithKey('mx.sts.test', ['mx.sts.test']);
  assert.equal(await policies[2]!.judge!({ domain: 'sts.test', mxHost: 'mx.sts.test' }, req, peerOf(other.cert)), null, 'MTA-STS does not judge a DANE host');
  assert.equal((await policies[1]!.judge!({ domain: 'sts.test', mxHost: 'mx.sts.test' }, req, peerOf(other.cert)))?.ok, false, 'DANE judges it, and fails it');
  for (const tlsa of ['insecure', 'none'] as const) {
    const t = tlsa === 'insecure' ? target('mx.sts.test', 'insecure') : target('mx.sts.test', 'secure');
    const sts = await demandFor(chainFor('opportunistic', tlsa, enforce, log), 'mx.sts.test', t);
    assert.deepEqual([sts.mustEncrypt, sts.verify, sts.dane, sts.by.at(-1)], [true, 'must', undefined, 'MTA-STS'], `${tlsa}: MTA-STS enforces`);
    const stray = await demandFor(chainFor('opportunistic', tlsa, enforce, log), 'mx.elsewhere.test', target('mx.elsewhere.test', tlsa === 'insecure' ? 'insecure' : 'secure'));
    assert.match(stray.refuse ?? '', /MTA-STS: MX\(mx\.elsewhere\.test\) does not match/, `${tlsa}: MX not in policy → not delivered`);
    const none = await demandFor(chainFor('opportunistic', tlsa, { policy: null, failure: { type: 'sts-policy-fetch-error', detail: 'x' } }, log), 'mx.sts.test', t);
    assert.deepEqual([none.mustEncrypt, none.refuse], [false, undefined], `${tlsa}, STS failed for other reasons: the TLS setting decides`);
  }
  log.close();
});

test('DANE Mandatory: MTA-STS is not consulted; MTA-STS needs TLS; testing mode only reports', async () => {
  let config = putDestination(defaultConfig(), { domain: 'm.test', tls: 'preferred', dane: 'mandatory', mtaSts: 'yes' }, { create: true });
  config = putDestination(config, { domain: 's.test', tls: 'preferred', mtaSts: 'yes' }, { create: true });
  const { log, text } = testLog();
  const ctx = { config, trusted: [chain.root], dns: new DnsClient([]), log, mtaSts: {} as MtaStsService };
  assert.deepEqual(policiesFor(ctx, 'm.test', destinationFor(ctx.config.delivery, 'm.test')).policies.map((p) => p.name), ['destination control', 'DANE']);
  assert.deepEqual(policiesFor(ctx, 's.test', destinationFor(ctx.config.delivery, 's.test')).policies.map((p) => p.name), ['destination control', 'MTA-STS']);
  assert.deepEqual(policiesFor(ctx, 'other.test', destinationFor(ctx.config.delivery, 'other.test')).policies.map((p) => p.name), ['destination control'], 'the default entry starts at No');
  assert.equal(destinationFor(config.delivery, 'other.test').mtaSts, 'no');
  assert.throws(() => setDestinationDefaults(config, { mtaSts: 'yes' }), /DANE and MTA-STS need a TLS setting other than No \(Default \(MTA-STS\)\)/);
  assert.throws(() => putDestination(config, { domain: 'n.test', tls: 'no', dane: 'opportunistic', mtaSts: 'yes' }, { create: true }), /\(n\.test \(DANE, MTA-STS\)\)/);

  const reports: SessionReport[] = [];
  const testing = chainFor('none', 'none', { policy: policy('testing', ['mx.sts.test']) }, log, reports);
  const req = await demandFor(testing);
  assert.deepEqual([req.mustEncrypt, req.verify], [false, 'none'], 'testing: the destination setting decides');
  const wrong = peerOf(chain.issueWithKey('mx.other.test', ['mx.other.test']).cert);
  assert.equal(await testing[1]!.judge!({ domain: 'sts.test', mxHost: 'mx.sts.test' }, req, wrong), null, 'testing never fails a session');
  testing[1]!.settle!({ domain: 'sts.test', mxHost: 'mx.sts.test', target: target('mx.sts.test', 'insecure') }, req, {
    kind: 'session',
    observation: { stage: 'secure', protocol: 'TLSv1.3', cipher: 'x', verification: null },
    decision: { action: 'send-tls', verified: false, log: '' },
  });
  assert.equal(reports.at(-1)?.failure?.type, 'certificate-host-mismatch');
  assert.equal(reports.at(-1)?.policy.type, 'sts');
  assert.match(text(), /would have failed \(testing mode\)/);
  log.close();
});

test('the MTA-STS session check: TLS 1.2 or newer, a trusted chain, the MX host as dNSName (never the CN)', async () => {
  assert.deepEqual(await stsPeerCheck(peerOf(leaf.cert), 'mx.sts.test', [chain.root]), { ok: true });
  assert.deepEqual(await stsPeerCheck({ ...peerOf(leaf.cert), protocol: 'TLSv1.1' }, 'mx.sts.test', [chain.root]), { ok: false, reason: 'TLSv1.1 is older than TLS 1.2' });
  assert.match(JSON.stringify(await stsPeerCheck(peerOf(leaf.cert), 'mx.sts.test', [chain.otherRoot])), /"ok":false,"reason":"certificate chain: /);
  const cnOnly = chain.issueWithKey('mx.sts.test', []);
  assert.match(JSON.stringify(await stsPeerCheck(peerOf(cnOnly.cert), 'mx.sts.test', [chain.root])), /no subjectAltName dNSName \(none\) matches mx\.sts\.test/);
  const wildcard = chain.issueWithKey('wild', ['*.sts.test']);
  assert.deepEqual(await stsPeerCheck(peerOf(wildcard.cert), 'mx.sts.test', [chain.root]), { ok: true });
  assert.equal((await stsPeerCheck(peerOf(wildcard.cert), 'a.mx.sts.test', [chain.root])).ok, false, 'a wildcard covers one label');
});
