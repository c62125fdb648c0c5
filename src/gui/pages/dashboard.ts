import { certInfo } from '../../pki/certificate.js';
import { certificateUsers } from '../../store/certificates/certificates.js';
import { shellTime } from '../../store/dates.js';
import { deliveryChart } from '../chart.js';
import { type GuiDeps, render, type Router } from '../gui.js';

/** The status dashboard: engine, listeners, queue, recent alerts, certificates close to expiry, the TLS chart. */
export function dashboardRoutes(router: Router, deps: GuiDeps): void {
  router.get('/', async (page) => {
    const [status, alerts, hours, head] = await Promise.all([
      page.call('status', {}),
      page.call('alerts', {}),
      page.call('tls-outcomes', {}),
      page.call('config', {}),
    ]);
    // In a cluster: every member's health, applied version and queue (as "clusterconfig list").
    const members = status.cluster ? await page.call('cluster-list', {}).catch(() => []) : [];
    const warnDays = head.config.alerts.certificateWarnDays;
    const expiring = head.config.certificates
      .map((p) => ({ name: p.name, info: certInfo(p.certificate), users: certificateUsers(head.config, p.name) }))
      .filter((c) => c.users.length > 0 && c.info.daysRemaining <= warnDays)
      .map((c) => ({ name: c.name, days: c.info.daysRemaining, expires: shellTime(c.info.notAfter), users: c.users.join(', ') }));
    return render(
      page,
      'dashboard',
      {
        title: 'System Status',
        status: { ...status, started: shellTime(status.startedAt) },
        members,
        alerts: alerts.slice(-10).reverse().map((a) => ({ ...a, when: shellTime(a.time) })),
        expiring,
        warnDays,
        chart: deliveryChart(hours),
      },
    );
  });
}
