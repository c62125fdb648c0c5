import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findInconsistencies } from '../../src/engine/cluster/consistency.js';
import { newCluster, withMember } from '../../src/store/cluster/levels.js';
import { addInterface } from '../../src/store/network/interfaces.js';
import { parseTsigKey, tsigKeyRef, tsigKeyText } from '../../src/store/network/updateServers.js';
import { defaultConfig, type Config } from '../../src/store/schema.js';

const cert = (name: string, tag: string) => ({ name, certificate: `-----BEGIN CERTIFICATE-----\n${tag}\n-----END CERTIFICATE-----\n`, intermediates: [], keyRef: tag.padEnd(64, '0'), csr: null, demo: false });
const machine = (hostname: string, ip: string): Config => ({ ...addInterface(defaultConfig(), { name: 'Public', ip }), hostname });
const now = { user: 'admin', time: '2026-12-05T00:00:00.000Z' };
const doc = { ...withMember(newCluster('Gateways', 'mx1.example.com', { ...machine('mx1.example.com', '127.0.0.21'), certificates: [cert('mx', 'a1')] }, now), 'mx2.example.com', machine('mx2.example.com', '127.0.0.22')), version: 3 };
const report = (m: string, applied: number, problem?: string) => ({ machine: m, applied, queue: 0, time: now.time, ...(problem ? { problem } : {}) });
const etcd = (name: string, peer: string) => ({ name, peerURLs: [`https://${peer}`] });
const healthy = {
  doc,
  reports: [report('mx1.example.com', doc.version), report('MX2.example.com', doc.version)],
  etcdMembers: [etcd('mx1.example.com', '127.0.0.21:2380'), etcd('mx2.example.com', '127.0.0.22:2380')],
  sealedKeys: new Set([cert('mx', 'a1').keyRef]),
};

test('a cluster whose machines all run its version, each with an etcd member and every key held, is consistent', () => {
  assert.deepEqual(findInconsistencies(healthy), []);
});

test('a silent machine, one behind and one that could not apply are each named with a remedy', () => {
  const found = findInconsistencies({ ...healthy, reports: [report('mx1.example.com', doc.version - 1)] });
  assert.deepEqual(found.map((f) => [f.subject, f.problem.split(/[:;]/)[0]]), [
    ['mx1.example.com', `runs cluster version ${doc.version - 1}`],
    ['mx2.example.com', 'not reporting'],
  ]);
  assert.ok(found.every((f) => f.remedy.length > 0));
  const broken = findInconsistencies({ ...healthy, reports: [report('mx1.example.com', doc.version), report('mx2.example.com', 1, 'cluster version 2 not applied: bad key')] });
  assert.deepEqual(broken.map((f) => [f.subject, f.problem]), [['mx2.example.com', 'cluster version 2 not applied: bad key']]);
});

test('etcd members of no machine (a join or a removal that did not finish) and machines without one are found', () => {
  const found = findInconsistencies({ ...healthy, etcdMembers: [etcd('mx1.example.com', '127.0.0.21:2380'), etcd('', '127.0.0.23:2380'), etcd('old.example.com', '127.0.0.24:2380')] });
  assert.deepEqual(found.map((f) => [f.subject, f.remedy]), [
    ['mx2.example.com', '"clusterconfig removemachine mx2.example.com", then join it again with a new token'],
    ['127.0.0.23:2380', '"clusterconfig removemachine 127.0.0.23:2380"'],
    ['old.example.com', '"clusterconfig removemachine old.example.com"'],
  ]);
  assert.match(found[1]!.problem, /never started/);
});

test('a certificate profile whose private key the cluster does not hold is found for every machine that runs it', () => {
  const found = findInconsistencies({ ...healthy, sealedKeys: new Set() });
  assert.deepEqual(found.map((f) => f.subject), ['mx1.example.com', 'mx2.example.com']);
  assert.match(found[0]!.problem, /certificate profile "mx"/);
});

test('an update server whose TSIG key the cluster does not hold is found, with the command that gives it again', () => {
  const tsigRef = `tsig-${'b2'.padEnd(64, '0')}`;
  const withUpdate = { ...doc, cluster: { ...doc.cluster, dns: { ...(doc.cluster.dns as object), updateServers: [{ zone: 'example.com', server: '127.0.0.1:53', keyName: 'mx-update', keyRef: tsigRef }] } } };
  assert.deepEqual(findInconsistencies({ ...healthy, doc: withUpdate, sealedKeys: new Set([cert('mx', 'a1').keyRef, tsigRef]) }), []);
  const found = findInconsistencies({ ...healthy, doc: withUpdate });
  assert.deepEqual(found.map((f) => f.subject), ['mx1.example.com', 'mx2.example.com']);
  assert.match(found[0]!.problem, /the TSIG key of update server example\.com is not stored in the cluster/);
  assert.match(found[0]!.remedy, /dnsconfig update-server/);
});

test('TSIG keys are read in the forms of keymgr, tsig-keygen and nsupdate -y, and stored in one form under one reference', () => {
  const secret = 'G7opXSsPUaMfGqj15R/G9+GFucubVY6VG3xirH25P6o=';
  const forms = [
    `key:\n  - id: mx-update\n    algorithm: hmac-sha256\n    secret: ${secret}\n`,
    `key "mx-update." {\n\talgorithm hmac-sha256;\n\tsecret "${secret}";\n};\n`,
    `hmac-sha256:MX-Update:${secret}`,
  ].map(parseTsigKey);
  assert.deepEqual(new Set(forms.map(tsigKeyRef)).size, 1);
  assert.equal(tsigKeyText(forms[0]!), `hmac-sha256:mx-update:${secret}\n`);
  assert.deepEqual(parseTsigKey(tsigKeyText(forms[0]!)), forms[0]);
  assert.throws(() => parseTsigKey(`hmac-sha256:x:${secret.slice(0, 10)}!!`), /not in a known form|not valid base64/);
});
