import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { DnsClient } from '../../src/engine/dns/client.js';
import { MailLog } from '../../src/engine/log/mailLog.js';
import { type DayRecord, mergeDays, TlsReportRecorder } from '../../src/engine/tlsrpt/recorder.js';
import { type SharedTlsReports, TlsReportService } from '../../src/engine/tlsrpt/service.js';
import { defaultConfig } from '../../src/store/schema.js';

const policy = { type: 'no-policy-found' as const, domain: 'partner.test', strings: [], mxHosts: [] };

/** The cluster's pool as the service sees it, in memory (etcd's side is tested in e2e/cluster.test.ts). */
function pool(): SharedTlsReports & { days: Map<string, DayRecord>; down: boolean } {
  const days = new Map<string, DayRecord>();
  return {
    days,
    down: false,
    async contribute(records) {
      if (this.down) throw new Error('the cluster\'s etcd does not answer');
      for (const r of records) days.set(r.day, mergeDays(days.get(r.day) ?? { day: r.day, policies: {} }, r));
    },
    async claimDays(before) {
      if (this.down) throw new Error('the cluster\'s etcd does not answer');
      return [...days.values()].filter((d) => !before || d.day < before).map((record) => ({ record, done: async () => void days.delete(record.day) }));
    },
  };
}

test('in a cluster: recorded sessions go to the pool and leave this machine; the minute timer says nothing when there is nothing to send; without etcd they stay here', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mxgate-tlsrpt-service-'));
  try {
    const now = Date.parse('2026-12-05T10:00:00Z');
    const log = new MailLog(path.join(dir, 'logs'));
    log.open();
    const recorder = new TlsReportRecorder(path.join(dir, 'tlsrpt'), () => undefined, () => now);
    const shared = pool();
    const config = { ...defaultConfig(), tlsrpt: { ...defaultConfig().tlsrpt, enabled: true, hour: 0 } };
    const service = new TlsReportService({
      recorder,
      log,
      config: () => config,
      dns: () => new DnsClient([{ host: '127.0.0.1', port: 9 }], 200),
      trusted: async () => [],
      enqueue: async () => assert.fail('nothing is due: no report is queued'),
      clock: () => now,
      shared: () => shared,
    });
    recorder.record({ policy });
    recorder.record({ policy });
    await service.contribute();
    assert.deepEqual(await recorder.recordedDays(), [], 'handed over');
    assert.equal(Object.values(shared.days.get('2026-12-05')!.policies)[0]!.success, 2);
    // The sending hour has come, but only today has material: nothing is sent and nothing is logged.
    await service.sendDue();
    await service.sendDue();
    const logged = await readFile(path.join(dir, 'logs', 'mail.current'), 'utf8');
    assert.doesNotMatch(logged, /TLS report:/);
    // The cluster does not answer: new sessions stay on this machine.
    shared.down = true;
    recorder.record({ policy });
    await service.contribute();
    assert.equal((await recorder.recordedDays()).length, 1);
    assert.equal(shared.days.size, 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
