import assert from 'node:assert/strict';
import { test } from 'node:test';
import { certificateLevel, effectiveConfig, machinesUsingCertificateAt, withCertificateAt, type Level, newCluster, origins, overriddenChanges, ownSettings, parseLevel, placeEdits, problemsOfVersion, resolve, setAtLevel, withGroup, withMachineInGroup, withMember, withoutGroup } from '../../src/store/cluster/levels.js';
import { addInterface } from '../../src/store/network/interfaces.js';
import { addListener } from '../../src/store/listeners/listeners.js';
import { defaultConfig, type Config } from '../../src/store/schema.js';

const cert = (name: string, tag: string) => ({ name, certificate: `-----BEGIN CERTIFICATE-----\n${tag}\n-----END CERTIFICATE-----\n`, intermediates: [], keyRef: tag.padEnd(64, '0'), csr: null, demo: false });
const machine = (hostname: string, ip: string): Config => ({ ...addInterface(defaultConfig(), { name: 'Public', ip }), hostname });
const now = { user: 'admin', time: '2026-12-05T00:00:00.000Z' };

function twoMachines() {
  const mx1 = addListener(machine('mx1.example.com', '127.0.0.21'), { name: 'InboundMail', type: 'public', interface: 'Public', port: 25 });
  const doc = newCluster('Gateways', 'mx1.example.com', { ...mx1, certificates: [cert('mx', 'a1')] }, now);
  return withMember(doc, 'mx2.example.com', machine('mx2.example.com', '127.0.0.22'));
}

test('a new cluster shares everything but the machine-level settings; a member brings only its own', () => {
  const doc = twoMachines();
  assert.equal(doc.cluster.hostname, undefined);
  assert.equal(doc.cluster.interfaces, undefined);
  assert.equal((doc.cluster.listeners as unknown[]).length, 1);
  const mx2 = effectiveConfig(doc, 'mx2.example.com');
  assert.equal(mx2.hostname, 'mx2.example.com');
  assert.equal(mx2.interfaces.find((i) => i.name === 'Public')!.ip, '127.0.0.22');
  assert.equal(mx2.listeners[0]!.name, 'InboundMail', 'the cluster listener runs on mx2 too');
  assert.throws(() => withMember(doc, 'MX2.example.com', machine('mx2.example.com', '127.0.0.23')), /already in cluster Gateways/);
});

test('a certificate at machine level under the cluster name wins on that machine only', () => {
  let doc = twoMachines();
  const view = resolve(doc, { kind: 'machine', name: 'mx2.example.com' }, {});
  const draft = { ...effectiveConfig(doc, 'mx2.example.com') };
  draft.certificates = [cert('mx', 'b2'), cert('wild', 'c3')];
  doc = placeEdits(doc, { kind: 'machine', name: 'mx2.example.com' }, view, draft);
  assert.equal(effectiveConfig(doc, 'mx2.example.com').certificates.find((c) => c.name === 'mx')!.keyRef.slice(0, 2), 'b2');
  assert.equal(effectiveConfig(doc, 'mx1.example.com').certificates.find((c) => c.name === 'mx')!.keyRef.slice(0, 2), 'a1');
  assert.equal(effectiveConfig(doc, 'mx1.example.com').certificates.length, 1, 'mx2-only profiles stay on mx2');
  const fromOf = (m: string) => origins(doc, { kind: 'machine', name: m }).find((o) => o.setting === 'certificate profile mx')!.from;
  assert.equal(fromOf('mx2.example.com'), 'Machine mx2.example.com');
  assert.equal(fromOf('mx1.example.com'), 'Cluster');
  // Seen from the cluster: the profile is the cluster's, and mx2 sets its own.
  assert.deepEqual(
    origins(doc, { kind: 'cluster' }).find((o) => o.setting === 'certificate profile mx'),
    { setting: 'certificate profile mx', from: 'Cluster', overriddenBy: ['Machine mx2.example.com'] },
  );
  // Deleting at machine level what is set at cluster level is refused and says where it is set.
  const view2 = resolve(doc, { kind: 'machine', name: 'mx1.example.com' }, {});
  const gone = { ...effectiveConfig(doc, 'mx1.example.com'), certificates: [] };
  assert.throws(() => placeEdits(doc, { kind: 'machine', name: 'mx1.example.com' }, view2, { ...gone, listeners: [] }), /comes from a wider level/);
});

test('cluster edits reach every machine; machine-level settings and accounts must be edited at their level', () => {
  let doc = twoMachines();
  const own = ownSettings(effectiveConfig(doc, 'mx1.example.com'));
  const view = resolve(doc, { kind: 'cluster' }, own);
  const draft = effectiveConfig({ ...doc, machines: { x: { group: 'Main_Group', settings: own } } }, 'x');
  doc = placeEdits(doc, { kind: 'cluster' }, view, { ...draft, tls: { ...draft.tls, outboundMinVersion: 'TLSv1.3' } });
  for (const m of ['mx1.example.com', 'mx2.example.com']) assert.equal(effectiveConfig(doc, m).tls.outboundMinVersion, 'TLSv1.3');
  assert.throws(() => placeEdits(doc, { kind: 'cluster' }, view, { ...draft, hostname: 'other.example.com' }), /machine-level setting: switch with "clustermode machine NAME"/);
  const mview = resolve(doc, { kind: 'machine', name: 'mx2.example.com' }, {});
  assert.throws(() => placeEdits(doc, { kind: 'machine', name: 'mx2.example.com' }, mview, { ...effectiveConfig(doc, 'mx2.example.com'), users: [{ name: 'x' } as never] }), /only at cluster level/);
});

test('a version that would not validate on one member names the member', () => {
  const doc = twoMachines();
  const broken = { ...doc, machines: { ...doc.machines, 'mx2.example.com': { group: 'Main_Group', settings: { hostname: 'mx2.example.com', interfaces: [{ name: 'Management', ip: '127.0.0.1' }] } } } };
  const problems = problemsOfVersion(broken);
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /^mx2\.example\.com: listener InboundMail.*interface "Public" does not exist/);
});

test('where each setting is set, and which cluster changes do not reach a machine that sets its own', () => {
  let doc = twoMachines();
  // mx2 sets its own destinations at machine level.
  const mview = resolve(doc, { kind: 'machine', name: 'mx2.example.com' }, {});
  const mx2 = effectiveConfig(doc, 'mx2.example.com');
  doc = placeEdits(doc, { kind: 'machine', name: 'mx2.example.com' }, mview, { ...mx2, tls: { ...mx2.tls, outboundMinVersion: 'TLSv1.3' } });
  const atCluster = new Map(origins(doc, { kind: 'cluster' }).map((o) => [o.setting, o]));
  assert.deepEqual(atCluster.get('tls'), { setting: 'tls', from: 'Cluster', overriddenBy: ['Machine mx2.example.com'] });
  assert.deepEqual(atCluster.get('hostname'), { setting: 'hostname', from: "each machine's own", overriddenBy: [] });
  assert.deepEqual(atCluster.get('listeners'), { setting: 'listeners', from: 'Cluster', overriddenBy: [] });
  assert.equal(origins(doc, { kind: 'machine', name: 'mx1.example.com' }).find((o) => o.setting === 'tls')!.from, 'Cluster');
  assert.equal(origins(doc, { kind: 'machine', name: 'mx2.example.com' }).find((o) => o.setting === 'hostname')!.from, 'Machine mx2.example.com');

  // A cluster-level change to tls is noted (mx2 keeps its own); one to listeners is not.
  const own = ownSettings(effectiveConfig(doc, 'mx1.example.com'));
  const view = resolve(doc, { kind: 'cluster' }, own);
  const draft = validate(view);
  const tlsChanged = placeEdits(doc, { kind: 'cluster' }, view, { ...draft, tls: { ...draft.tls, peerCertFqdn: true } });
  assert.deepEqual(overriddenChanges(doc, tlsChanged, { kind: 'cluster' }), ['tls: Machine mx2.example.com sets its own; this change does not reach it.']);
  const listenersChanged = placeEdits(doc, { kind: 'cluster' }, view, { ...draft, listeners: [] });
  assert.deepEqual(overriddenChanges(doc, listenersChanged, { kind: 'cluster' }), []);
});

const validate = (settings: Record<string, unknown>): Config => effectiveConfig({ name: 'x', version: 1, time: '', user: '', comment: '', cluster: settings, groups: {}, machines: { x: { group: 'g', settings: {} } } }, 'x');

test('clusterset: copy, move and delete between levels; what cannot move says why', () => {
  let doc = twoMachines();
  const mx2: Level = { kind: 'machine', name: 'mx2.example.com' };
  // Copy the cluster's tls to mx2, change it there, then delete mx2's own: it inherits again.
  doc = setAtLevel(doc, 'copy', 'tls', { kind: 'cluster' }, mx2);
  assert.deepEqual(doc.machines['mx2.example.com']!.settings.tls, doc.cluster.tls);
  doc = setAtLevel(doc, 'delete', 'tls', mx2);
  assert.equal(doc.machines['mx2.example.com']!.settings.tls, undefined);
  // One certificate profile moves alone, by name.
  doc = setAtLevel(doc, 'move', 'certificate:MX', { kind: 'cluster' }, mx2);
  assert.deepEqual((doc.cluster.certificates as { name: string }[]).map((c) => c.name), []);
  assert.equal(effectiveConfig(doc, 'mx2.example.com').certificates[0]!.name, 'mx');
  // Hostile cases, each with its reason.
  assert.throws(() => setAtLevel(doc, 'copy', 'colour', { kind: 'cluster' }, mx2), /"colour" is not a setting: use one of .*delivery.*, or certificate:NAME/);
  assert.throws(() => setAtLevel(doc, 'copy', 'hostname', mx2, { kind: 'cluster' }), /The host name exists only at machine level/);
  assert.throws(() => setAtLevel(doc, 'copy', 'users', { kind: 'cluster' }, mx2), /Accounts exist only at cluster level/);
  assert.throws(() => setAtLevel(doc, 'delete', 'delivery', { kind: 'cluster' }), /what every machine inherits: it can be changed, not deleted/);
  assert.throws(() => setAtLevel(doc, 'delete', 'tls', mx2), /is not set at machine mx2\.example\.com level/);
  assert.throws(() => setAtLevel(doc, 'copy', 'tls', { kind: 'cluster' }, { kind: 'cluster' }), /already at that level/);
  assert.throws(() => parseLevel('rack:3'), /is not a level: use cluster, group:NAME or machine:NAME/);
});

test('groups: added, machines moved in and out, removed only when empty', () => {
  let doc = withGroup(twoMachines(), 'Tokyo');
  assert.throws(() => withGroup(doc, 'tokyo'), /already a group Tokyo/);
  assert.throws(() => withGroup(doc, '9lives'), /is not a group name/);
  doc = withMachineInGroup(doc, 'MX2.example.com', 'tokyo');
  assert.equal(doc.machines['mx2.example.com']!.group, 'Tokyo');
  assert.throws(() => withMachineInGroup(doc, 'mx9.example.com', 'Tokyo'), /no machine mx9\.example\.com/);
  assert.throws(() => withMachineInGroup(doc, 'mx2.example.com', 'Osaka'), /no group Osaka in cluster Gateways: "clusterconfig addgroup Osaka" first/);
  assert.throws(() => withoutGroup(doc, 'Tokyo'), /Group Tokyo still holds mx2\.example\.com: move it first/);
  doc = withoutGroup(withMachineInGroup(doc, 'mx2.example.com', 'Main_Group'), 'Tokyo');
  assert.deepEqual(Object.keys(doc.groups), ['Main_Group']);
});

test('a renewal changes a certificate profile where it is set: the machines that share it there, and only they, get it', () => {
  let doc = twoMachines();
  const cluster: Level = { kind: 'cluster' };
  assert.deepEqual(certificateLevel(doc, 'mx2.example.com', 'mx'), cluster);
  assert.deepEqual(machinesUsingCertificateAt(doc, cluster, 'mx'), ['mx1.example.com', 'mx2.example.com']);
  // mx2 sets its own "mx": the cluster's is then mx1's alone, mx2's is mx2's alone.
  const view = resolve(doc, { kind: 'machine', name: 'mx2.example.com' }, {});
  doc = placeEdits(doc, { kind: 'machine', name: 'mx2.example.com' }, view, { ...effectiveConfig(doc, 'mx2.example.com'), certificates: [cert('mx', 'b2')] });
  const mx2: Level = { kind: 'machine', name: 'mx2.example.com' };
  assert.deepEqual(certificateLevel(doc, 'mx2.example.com', 'MX'), mx2);
  assert.deepEqual(machinesUsingCertificateAt(doc, cluster, 'mx'), ['mx1.example.com']);
  assert.deepEqual(machinesUsingCertificateAt(doc, mx2, 'mx'), ['mx2.example.com']);
  const renewed = withCertificateAt(doc, mx2, 'mx', (p: { name: string; keyRef: string }) => ({ ...p, keyRef: 'c3'.padEnd(64, '0') }));
  assert.equal(effectiveConfig(renewed, 'mx2.example.com').certificates[0]!.keyRef.slice(0, 2), 'c3');
  assert.equal(effectiveConfig(renewed, 'mx1.example.com').certificates[0]!.keyRef.slice(0, 2), 'a1', 'the cluster-level profile is untouched');
  assert.throws(() => withCertificateAt(doc, { kind: 'group', name: 'Main_Group' }, 'mx', (p) => p), /is not set at group main_group level/);
  assert.equal(certificateLevel(doc, 'mx1.example.com', 'other'), undefined);
});
