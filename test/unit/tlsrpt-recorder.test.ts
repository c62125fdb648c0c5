import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { mergeDays, TlsReportRecorder, withoutReported } from '../../src/engine/tlsrpt/recorder.js';
import type { SessionReport } from '../../src/engine/tlsrpt/results.js';

const policy = { type: 'sts' as const, domain: 'partner.test', strings: ['version: STSv1'], mxHosts: ['mx.partner.test'] };
const ok: SessionReport = { policy };
const failed = (ip: string): SessionReport => ({ policy, failure: { type: 'certificate-expired', mxHost: 'mx.partner.test', sendingIp: ip } });

test('drain hands over every recorded day and forgets it on disk too; restore takes it back', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mxgate-tlsrpt-'));
  try {
    const recorder = new TlsReportRecorder(dir, (m) => assert.fail(m), () => Date.parse('2026-12-05T10:00:00Z'));
    recorder.record(ok);
    recorder.record(failed('192.0.2.1'));
    await recorder.flush();
    assert.deepEqual(await readdir(dir), ['2026-12-05.json']);
    const days = await recorder.drain();
    assert.equal(days.length, 1);
    assert.equal(Object.values(days[0]!.policies)[0]!.success, 1);
    assert.deepEqual(await recorder.recordedDays(), []);
    assert.deepEqual(await readdir(dir), []);
    await recorder.restore(days);
    assert.equal((await recorder.recordedDays()).length, 1);
    assert.deepEqual(await readdir(dir), ['2026-12-05.json']);
  } finally {
    await rm(dir, { recursive: true });
  }
});

test('members\' material merges per policy and failure (each sending IP kept); what was reported is subtracted from what grew since', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mxgate-tlsrpt-'));
  try {
    const clock = () => Date.parse('2026-12-05T10:00:00Z');
    const a = new TlsReportRecorder(path.join(dir, 'a'), () => undefined, clock);
    const b = new TlsReportRecorder(path.join(dir, 'b'), () => undefined, clock);
    a.record(ok);
    a.record(failed('192.0.2.1'));
    b.record(ok);
    b.record(failed('192.0.2.2'));
    const [dayA] = await a.drain();
    const [dayB] = await b.drain();
    const merged = mergeDays(structuredClone(dayA!), dayB!);
    const counts = Object.values(merged.policies)[0]!;
    assert.equal(counts.success, 2);
    assert.deepEqual(counts.failures.map((f) => [f.sendingIp, f.count]), [['192.0.2.1', 1], ['192.0.2.2', 1]]);
    // Member A recorded one more success after its material was read for the report: only that one is left.
    const grown = mergeDays(structuredClone(dayA!), { day: dayA!.day, policies: Object.fromEntries(Object.entries(dayA!.policies).map(([k, v]) => [k, { ...v, success: 1, failures: [] }])) });
    const left = withoutReported(grown, dayA!);
    assert.deepEqual(Object.values(left.policies).map((p) => [p.success, p.failures.length]), [[1, 0]]);
    assert.deepEqual(withoutReported(dayA!, dayA!).policies, {});
  } finally {
    await rm(dir, { recursive: true });
  }
});
