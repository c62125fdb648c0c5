import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { ariCertId, fetchRenewalInfo, pickRenewalTime } from '../../src/engine/acme/ari.js';
import { type OpensslChain, opensslChain } from '../pki-fixtures.js';

/** RFC 9773 Appendix A: the example certificate (AKI 69:88:5B…, serial 00:87:65:43:21) and its certID. */
const RFC_EXAMPLE = `-----BEGIN CERTIFICATE-----
MIIBQzCB66ADAgECAgUAh2VDITAKBggqhkjOPQQDAjAVMRMwEQYDVQQDEwpFeGFt
cGxlIENBMCIYDzAwMDEwMTAxMDAwMDAwWhgPMDAwMTAxMDEwMDAwMDBaMBYxFDAS
BgNVBAMTC2V4YW1wbGUuY29tMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEeBZu
7cbpAYNXZLbbh8rNIzuOoqOOtmxA1v7cRm//AwyMwWxyHz4zfwmBhcSrf47NUAFf
qzLQ2PPQxdTXREYEnKMjMCEwHwYDVR0jBBgwFoAUaYhba4dGQEHhs3uEe6CuLN4B
yNQwCgYIKoZIzj0EAwIDRwAwRAIge09+S5TZAlw5tgtiVvuERV6cT4mfutXIlwTb
+FYN/8oCIClDsqBklhB9KAelFiYt9+6FDj3z4KGVelYM5MdsO3pK
-----END CERTIFICATE-----
`;

let chain: OpensslChain;
let server: https.Server;
let base: string;
/** What the stand-in CA answers at /renewal-info/<certID>, and whether its directory offers it. */
const ca = { offers: true, status: 200, body: '' as string, retryAfter: '7200' as string | undefined, asked: [] as string[] };

before(async () => {
  chain = opensslChain();
  const tlsCert = chain.issueWithKey('ca.test', [], 30, { extensions: ['subjectAltName=IP:127.0.0.1'] });
  server = https.createServer({ key: tlsCert.key, cert: tlsCert.cert + chain.intermediate }, (req, res) => {
    ca.asked.push(req.url ?? '');
    if (req.url === '/dir') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ newOrder: `${base}/new-order`, ...(ca.offers ? { renewalInfo: `${base}/renewal-info` } : {}) }));
      return;
    }
    res.statusCode = ca.status;
    if (ca.retryAfter) res.setHeader('retry-after', ca.retryAfter);
    res.end(ca.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

test('the certID of a certificate is RFC 9773\'s: the AKI key identifier and the DER serial, base64url', () => {
  assert.equal(ariCertId(RFC_EXAMPLE), 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
  assert.match(ariCertId(chain.leaf) ?? '', /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
});

test('the renewal time is picked in the suggested window, not before now; a window already over means now', () => {
  const now = Date.parse('2027-01-01T00:00:00Z');
  const window = { start: '2027-01-10T00:00:00Z', end: '2027-01-12T00:00:00Z' };
  assert.equal(pickRenewalTime(window, now, () => 0), Date.parse(window.start));
  assert.equal(pickRenewalTime(window, now, () => 0.5), Date.parse('2027-01-11T00:00:00Z'));
  assert.equal(pickRenewalTime({ start: '2026-12-01T00:00:00Z', end: '2027-01-02T00:00:00Z' }, now, () => 0), now, 'a window that began: not before now');
  assert.equal(pickRenewalTime({ start: '2026-12-01T00:00:00Z', end: '2026-12-02T00:00:00Z' }, now, () => 0.9), now);
});

test('renewal information over HTTPS: the window and Retry-After (bounded) are read; a CA that offers none says undefined; a bad answer is one line', async () => {
  const id = ariCertId(chain.leaf)!;
  ca.body = JSON.stringify({ suggestedWindow: { start: '2027-01-10T00:00:00Z', end: '2027-01-12T00:00:00Z' }, explanationURL: 'https://ca.test/why' });
  const got = await fetchRenewalInfo(`${base}/dir`, chain.leaf, [chain.root]);
  assert.deepEqual(got, { start: '2027-01-10T00:00:00.000Z', end: '2027-01-12T00:00:00.000Z', retryAfterSeconds: 7200, explanationURL: 'https://ca.test/why' });
  assert.equal(ca.asked.at(-1), `/renewal-info/${id}`);

  ca.retryAfter = '5';
  assert.equal((await fetchRenewalInfo(`${base}/dir`, chain.leaf, [chain.root]))!.retryAfterSeconds, 3600, 'never more often than hourly');
  ca.retryAfter = undefined;
  assert.equal((await fetchRenewalInfo(`${base}/dir`, chain.leaf, [chain.root]))!.retryAfterSeconds, 6 * 3600);

  ca.body = JSON.stringify({ suggestedWindow: { start: '2027-01-12T00:00:00Z', end: '2027-01-10T00:00:00Z' } });
  await assert.rejects(fetchRenewalInfo(`${base}/dir`, chain.leaf, [chain.root]), /has no valid suggestedWindow/);
  ca.body = 'null';
  await assert.rejects(fetchRenewalInfo(`${base}/dir`, chain.leaf, [chain.root]), /answers no JSON object/);
  ca.status = 404;
  await assert.rejects(fetchRenewalInfo(`${base}/dir`, chain.leaf, [chain.root]), /answers HTTP 404/);
  await assert.rejects(fetchRenewalInfo(`${base}/dir`, chain.leaf, [chain.otherRoot]), /certificate/i, 'the CA must chain to the lists given');

  ca.offers = false;
  const asked = ca.asked.length;
  assert.equal(await fetchRenewalInfo(`${base}/dir`, chain.leaf, [chain.root]), undefined);
  assert.deepEqual(ca.asked.slice(asked), ['/dir'], 'only the directory was read');
});
