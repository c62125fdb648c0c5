import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { association } from '../../src/pki/tlsa.js';
import { applianceWithListener, cleanup, mxgate, shellOk, submitMail, until, waitForLog } from '../helpers.js';
import { type DnssecLab, startDnssecLab, strippingDnsProxy } from '../dnssec-lab.js';
import { opensslChain } from '../pki-fixtures.js';
import { type Postfix, postfixToolConfig, startPostfix } from '../postfix.js';
import { tool } from '../system-tools.js';

/**
 * DANE against real DNSSEC: zones signed by ldns-signzone, served by NSD, Postfix peers presenting
 * the certificates, all on 127.0.0.1. mxgate validates itself (dnsconfig validation builtin) from
 * answers of NSD, which does not validate; Postfix's own DANE client, posttls-finger, judges the same
 * next hops through unbound validating with the same trust anchors. They must agree on every case.
 */
const run = promisify(execFile);
const chain = opensslChain();
const peerCert = chain.issueWithKey('mx.lab', ['mx.ok.signed.lab', 'mx.wrong.signed.lab', 'mx.bogus.lab', 'mx.plain.lab']);
const otherCert = chain.issueWithKey('other.lab', ['other.lab']);
const spki311 = (pem: string) => association(new X509Certificate(pem), 1, 1).toString('hex');
const RESOLV_ADDRESS = '127.0.0.153';

type Case = { domain: string; host: string; zone: string; peer?: Postfix; expect: 'dane-ok' | 'dane-fail' | 'no-dane' };
const cases: Case[] = [
  { domain: 'ok.signed.lab', host: 'mx.ok.signed.lab', zone: 'signed.lab', expect: 'dane-ok' },
  { domain: 'wrong.signed.lab', host: 'mx.wrong.signed.lab', zone: 'signed.lab', expect: 'dane-fail' },
  { domain: 'bogus.lab', host: 'mx.bogus.lab', zone: 'bogus.lab', expect: 'dane-fail' },
  { domain: 'plain.lab', host: 'mx.plain.lab', zone: 'plain.lab', expect: 'no-dane' },
];
let lab: DnssecLab;
let home: string;
let port: number;

before(async () => {
  for (const c of cases) c.peer = await startPostfix({ domain: c.domain, hostname: c.host, tls: { key: peerCert.key, cert: peerCert.cert } });
  const rel = (c: Case) => c.host.slice(0, -(c.zone.length + 1));
  const recordsOf = (zone: string) =>
    cases
      .filter((c) => c.zone === zone)
      .flatMap((c) => [
        `${rel(c)} IN A 127.0.0.1`,
        ...(c.zone === 'plain.lab' ? [] : [`_${c.peer!.port}._tcp.${rel(c)} IN TLSA 3 1 1 ${spki311(c.expect === 'dane-fail' && c.zone === 'signed.lab' ? otherCert.cert : peerCert.cert)}`]),
      ]);
  lab = await startDnssecLab(
    [
      { name: 'signed.lab', kind: 'signed', records: recordsOf('signed.lab') },
      { name: 'bogus.lab', kind: 'bogus', records: recordsOf('bogus.lab') },
      { name: 'plain.lab', kind: 'unsigned', records: recordsOf('plain.lab') },
    ],
    { port53Address: RESOLV_ADDRESS },
  );
  ({ home, port } = await applianceWithListener());
  await shellOk(
    home,
    'listenerconfig edit InboundMail rcptaccess add .lab',
    // The engine validates itself (validation builtin), asking NSD, which does not validate: the same
    // trust anchors as unbound, and no root (the lab has none).
    `dnsconfig servers ${lab.nsd.host}:${lab.nsd.port}`,
    'dnsconfig validation builtin',
    'dnsconfig trustanchor delete 20326',
    'dnsconfig trustanchor delete 38696',
    ...lab.anchors.map((a) => `dnsconfig trustanchor add --dnskey "${a.replace(/\s+/g, ' ')}"`),
    ...cases.flatMap((c) => [`smtproutes new ${c.domain} ${c.host}:${c.peer!.port}`, `destconfig new ${c.domain} --tls preferred --dane opportunistic`]),
    'commit "dane lab"',
  );
});
after(async () => {
  await cleanup(home);
  await lab?.close();
  await Promise.all(cases.map((c) => c.peer?.stop()));
});

/** posttls-finger at DANE level, resolving through the lab's unbound (resolv.conf in a private mount namespace). */
async function posttlsFinger(c: Case): Promise<string> {
  const resolv = path.join(lab.dir, 'resolv.conf');
  await writeFile(resolv, `nameserver ${RESOLV_ADDRESS}\noptions trust-ad edns0\n`);
  const env = await postfixToolConfig(lab.dir);
  const script = `mount --bind "${resolv}" /etc/resolv.conf && exec "${tool('posttls-finger')}" -c -t 10 -T 20 -l dane -o smtp_dns_support_level=dnssec -o dnssec_probe= "[${c.host}]:${c.peer!.port}"`;
  const r = await run(tool('unshare'), ['-m', 'sh', '-c', script], { env }).catch((e: { stdout?: string; stderr?: string }) => ({ stdout: e.stdout ?? '', stderr: e.stderr ?? '' }));
  return `${r.stdout}${r.stderr}`;
}

/** posttls-finger's verdict in our terms: its DANE match, its DANE failures, else plain TLS. */
function fingerVerdict(out: string): Case['expect'] {
  if (/Matched DANE (EE|TA) certificate/.test(out) && /Verified TLS connection established/.test(out)) return 'dane-ok';
  if (/no matching DANE TLSA records|TLSA lookup error/.test(out)) return 'dane-fail';
  if (/(Untrusted|Anonymous|Trusted) TLS connection established/.test(out)) return 'no-dane';
  throw new Error(`posttls-finger gave no verdict:\n${out}`);
}

for (const c of cases) {
  test(`${c.domain}: mxgate and posttls-finger agree (${c.expect})`, async () => {
    const finger = await posttlsFinger(c);
    const mid = await submitMail(port, `user@${c.domain}`, `lab ${c.domain}`);
    if (c.expect === 'dane-ok' || c.expect === 'no-dane') {
      await until(home, `delivery to ${c.domain}`, async () => (await c.peer!.messages()).find((m) => m.includes(`Subject: lab ${c.domain}`)));
      const log = await waitForLog(home, new RegExp(`Message finished MID ${mid} done`));
      if (c.expect === 'dane-ok') assert.match(log, new RegExp(`DANE SUCCESS for ${c.domain.replace(/\./g, '\\.')}`));
      else assert.match(log, new RegExp(`DANE not used: INSECURE A record \\(127\\.0\\.0\\.1\\) found for MX\\(${c.host.replace(/\./g, '\\.')}\\)`));
    } else {
      await waitForLog(home, new RegExp(`Delayed: MID ${mid} RID \\[0\\]`), 20_000);
      assert.deepEqual(await c.peer!.messages(), [], 'nothing reached the peer');
    }
    const dv = await mxgate(home, ['-c', `daneverify ${c.domain}`]);
    assert.equal(dv.code === 0 ? 'dane-ok' : c.expect === 'dane-ok' ? 'failed' : c.expect, c.expect, dv.stdout);
    assert.equal(fingerVerdict(finger), c.expect, `posttls-finger said:\n${finger}`);
  });
}

test('daneverify at debug log level writes what the engine validated, lookup by lookup', async () => {
  await shellOk(home, 'logconfig mail_logs --level debug', 'commit "debug"');
  const [ok, , , plain] = cases;
  for (const c of [ok!, plain!]) await mxgate(home, ['-c', `daneverify ${c.domain}`]);
  const esc = (s: string) => s.replace(/\./g, '\\.');
  await waitForLog(home, new RegExp(`DNSSEC SECURE _${ok!.peer!.port}\\._tcp\\.${esc(ok!.host)} TLSA: signed\\.lab DNSKEY: RRSIG by signed\\.lab key \\d+ \\(ECDSAP256SHA256\\) valid until \\d{4}-\\d\\d-\\d\\d; signed\\.lab DNSKEY: key \\d+ matches its trust anchor; _${ok!.peer!.port}\\._tcp\\.${esc(ok!.host)} TLSA: RRSIG by signed\\.lab key \\d+ \\(ECDSAP256SHA256\\) valid until \\d{4}-\\d\\d-\\d\\d`));
  await waitForLog(home, new RegExp(`DNSSEC INSECURE ${esc(plain!.host)} A \\(no trust anchor covers ${esc(plain!.host)}\\)`));
});

test('a resolver that strips DNSSEC records: DANE Mandatory sends nothing; the commit and status name the resolver', async () => {
  const proxy = await strippingDnsProxy(lab.nsd.port);
  const ok = cases[0]!;
  try {
    const committed = await shellOk(home, `dnsconfig servers 127.0.0.1:${proxy.port}`, `destconfig edit ${ok.domain} --dane mandatory`, 'commit "through a stripping resolver"');
    assert.match(committed, new RegExp(`Note: DNS server 127\\.0\\.0\\.1:${proxy.port} strips DNSSEC records`));
    const mid = await submitMail(port, `user@${ok.domain}`, 'stripped dnssec');
    const log = await waitForLog(home, new RegExp(`Delayed: MID ${mid} RID \\[0\\]`), 20_000);
    assert.match(log, /BOGUS|failed validation/);
    assert.ok(!(await ok.peer!.messages()).some((m) => m.includes('Subject: stripped dnssec')), 'nothing reached the peer');
    const status = await mxgate(home, ['-c', 'status']);
    assert.match(status.stdout + status.stderr, new RegExp(`DNS: DNS server 127\\.0\\.0\\.1:${proxy.port} strips DNSSEC records`));
  } finally {
    await proxy.close();
  }
});
