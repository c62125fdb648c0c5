import { shellTime } from '../../store/dates.js';
import { ALERT_CLASSES, ALERT_SEVERITIES, CLASS_LABELS } from '../../store/alerts/alerts.js';
import { deleteAlertRecipient, parseClasses, parseSeverities, putAlertRecipient } from '../../store/alerts/edits.js';
import { emailProblem } from '../../store/grammar.js';
import { TLS_LEVELS } from '../../store/listeners/hat.js';
import { describeHttps, describeSsh, portOrNone, setInterfaceHttps, setInterfaceSsh, setSshSettings, SSH_LIMITS } from '../../store/network/interfaces.js';
import { addGroupPattern, addRcptDomain, parseTlsLevel, removeGroupPattern, removeRcptDomain, setHatDefaults, setListenerCertificate, setPolicy } from '../../store/listeners/policy.js';
import { checkRcptDomain, parseYesNo } from '../../store/answers.js';
import { addListener, deleteListener, parseListenerType, parsePort } from '../../store/listeners/listeners.js';
import { type FirstSteps, listAnswer, withFirstSteps } from '../../store/listeners/firstSteps.js';
import { ConfigError } from '../../store/schema.js';
import { countField, edit, field, type GuiDeps, type Page, render, type Router } from '../gui.js';

const TLS_LEVEL_LABELS = { off: 'No', preferred: 'Preferred', required: 'Required' } as const;

/** Every value of a multi-select field. */
const all = (page: Page, name: string): string[] => {
  const v = page.form[name];
  return (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((x): x is string => typeof x === 'string');
};

/** An empty port field means "none". */
const port = (value: string, what: string): number | null => portOrNone(what, value || 'none');

/** Network > Listeners, System Administration > Alerts and Network > IP Interfaces. */
export function settingsRoutes(router: Router, deps: GuiDeps): void {
  router.get('/listeners', (page) =>
    render(page, 'listeners', {
      title: 'Listeners',
      listeners: page.draft.listeners,
      certificates: page.draft.certificates.map((c) => ({ name: c.name, demo: c.demo })),
      levels: TLS_LEVELS.map((v) => ({ value: v, label: TLS_LEVEL_LABELS[v] })),
      interfaces: page.draft.interfaces.map((i) => ({ name: i.name, ip: i.ip })),
    }),
  );

  // Create and delete, as listenerconfig NEW (with its first steps) and DELETE.
  router.post('/listeners/new', (page) => {
    const name = field(page.form, 'name');
    return edit(
      page,
      '/listeners',
      (d) => {
        const type = parseListenerType(field(page.form, 'type'));
        const spec = { name, type, interface: field(page.form, 'interface'), port: parsePort(field(page.form, 'port')) };
        const steps: FirstSteps = {};
        const accept = listAnswer(field(page.form, type === 'public' ? 'domains' : 'relay'));
        if (type === 'public') steps.domains = accept.map(checkRcptDomain);
        else steps.relayHosts = accept;
        if (field(page.form, 'certificate')) steps.certificate = field(page.form, 'certificate');
        return withFirstSteps(addListener(d, spec), name, steps);
      },
      `Listener ${name} created; the commit starts it.`,
    );
  });
  router.post('/listeners/delete', (page) => edit(page, '/listeners', (d) => deleteListener(d, field(page.form, 'listener')), `Listener ${field(page.form, 'listener')} deleted; the commit stops it.`));

  router.post('/listeners/certificate', (page) =>
    edit(page, '/listeners', (d) => setListenerCertificate(d, field(page.form, 'listener'), field(page.form, 'certificate') || null), `The certificate of listener ${field(page.form, 'listener')} changed.`),
  );

  router.post('/listeners/policy-tls', (page) =>
    edit(page, '/listeners', (d) => {
      const listener = field(page.form, 'listener');
      const policy = field(page.form, 'policy');
      const choice = field(page.form, 'tls');
      if (policy === '') return setHatDefaults(d, listener, { tls: parseTlsLevel(choice) });
      return setPolicy(d, listener, policy, { tls: choice === 'default' ? undefined : parseTlsLevel(choice) });
    }, `TLS of ${field(page.form, 'policy') ? `policy $${field(page.form, 'policy')}` : 'the default policy'} on listener ${field(page.form, 'listener')} changed.`),
  );

  // Yes/no parameters of the default policy (its own value) or of a policy ("default": the default policy's).
  const policySwitch = (action: string, name: string, key: 'requireTls' | 'acceptUntaggedBounces', what: string) =>
    router.post(action, (page) =>
      edit(page, '/listeners', (d) => {
        const listener = field(page.form, 'listener');
        const policy = field(page.form, 'policy');
        const choice = field(page.form, name);
        if (policy === '') return setHatDefaults(d, listener, { [key]: parseYesNo(choice, what) });
        return setPolicy(d, listener, policy, { [key]: choice === 'default' ? undefined : parseYesNo(choice, what) });
      }, `${what} of ${field(page.form, 'policy') ? `policy $${field(page.form, 'policy')}` : 'the default policy'} on listener ${field(page.form, 'listener')} changed.`),
    );
  policySwitch('/listeners/policy-requiretls', 'requiretls', 'requireTls', 'REQUIRETLS');
  policySwitch('/listeners/policy-untagged', 'untagged', 'acceptUntaggedBounces', 'Accept untagged bounces');

  // The recipient access table: the domains a listener accepts mail for (listenerconfig … rcptaccess).
  router.post('/listeners/rcpt-add', (page) => {
    const domain = field(page.form, 'domain');
    return edit(page, '/listeners', (d) => addRcptDomain(d, field(page.form, 'listener'), checkRcptDomain(domain)), `${field(page.form, 'listener')} accepts mail for ${domain}.`);
  });
  router.post('/listeners/rcpt-remove', (page) =>
    edit(page, '/listeners', (d) => removeRcptDomain(d, field(page.form, 'listener'), field(page.form, 'domain')), `${field(page.form, 'listener')} no longer accepts mail for ${field(page.form, 'domain')}.`),
  );

  router.post('/listeners/sender-add', (page) =>
    edit(page, '/listeners', (d) => addGroupPattern(d, field(page.form, 'listener'), field(page.form, 'group'), field(page.form, 'pattern')), `${field(page.form, 'pattern')} added to sender group ${field(page.form, 'group')}.`),
  );

  router.post('/listeners/sender-remove', (page) =>
    edit(page, '/listeners', (d) => removeGroupPattern(d, field(page.form, 'listener'), field(page.form, 'group'), field(page.form, 'pattern')), `${field(page.form, 'pattern')} removed from sender group ${field(page.form, 'group')}.`),
  );

  // Classes and severities by their names, times as the shell shows them, the sender as it is.
  const severityLabel = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
  router.get('/alerts', async (page) =>
    render(page, 'alerts', {
      title: 'Alerts',
      alerts: page.draft.alerts,
      from: page.draft.alerts.from ?? `alert@${page.draft.hostname}`,
      recipients: page.draft.alerts.recipients.map((r) => ({ email: r.email, classes: r.classes.map((c) => CLASS_LABELS[c]).join(', '), severities: r.severities.map(severityLabel).join(', ') })),
      classes: ALERT_CLASSES.map((c) => ({ value: c, label: CLASS_LABELS[c] })),
      severities: ALERT_SEVERITIES.map((s) => ({ value: s, label: severityLabel(s) })),
      recent: (await page.call('alerts', {}))
        .slice(-20)
        .reverse()
        .map((a) => ({ ...a, time: shellTime(a.time), cls: CLASS_LABELS[a.cls as keyof typeof CLASS_LABELS] ?? a.cls, severity: severityLabel(a.severity) })),
    }),
  );

  router.post('/alerts/recipients', (page) =>
    edit(page, '/alerts', (d) => {
      const email = field(page.form, 'email');
      const problem = emailProblem(email);
      if (problem) throw new ConfigError(problem);
      const classes = parseClasses(all(page, 'classes').join(',') || 'all');
      const severities = parseSeverities(all(page, 'severities').join(',') || 'all');
      const exists = d.alerts.recipients.some((r) => r.email.toLowerCase() === email.toLowerCase());
      return putAlertRecipient(d, { email, classes, severities }, { create: !exists });
    }, `Alert recipient ${field(page.form, 'email')} saved.`),
  );

  router.post('/alerts/recipients/delete', (page) => edit(page, '/alerts', (d) => deleteAlertRecipient(d, field(page.form, 'email')), `${field(page.form, 'email')} no longer receives alerts.`));

  router.get('/interfaces', async (page) =>
    render(page, 'interfaces', {
      title: 'IP Interfaces',
      interfaces: page.draft.interfaces.map((i) => ({ ...i, described: `${describeHttps(i)}, ${describeSsh(i)}` })),
      certificates: page.draft.certificates.map((c) => ({ name: c.name, demo: c.demo })),
      hostname: page.draft.hostname,
      ssh: page.draft.ssh,
      hostKeys: await page.call('ssh-hostkeys', {}).catch(() => []),
    }),
  );

  router.post(
    '/interfaces/ssh',
    (page) => edit(page, '/interfaces', (d) => setInterfaceSsh(d, field(page.form, 'interface'), port(field(page.form, 'ssh'), 'SSH port')), `SSH settings of interface ${field(page.form, 'interface')} changed.`),
    'administrator',
  );

  router.post(
    '/interfaces/ssh-settings',
    (page) =>
      edit(page, '/interfaces', (d) => {
        return setSshSettings(d, {
          passwordAuth: field(page.form, 'passwordAuth') === 'on',
          idleTimeoutMinutes: countField(page.form, 'idle', 'The idle timeout', SSH_LIMITS.idleTimeoutMinutes),
          maxSessions: countField(page.form, 'sessions', 'The number of sessions', SSH_LIMITS.maxSessions),
        });
      }, 'SSH login settings changed.'),
    'administrator',
  );

  router.post(
    '/interfaces/https',
    (page) =>
      edit(page, '/interfaces', (d) => {
        const https = port(field(page.form, 'https'), 'HTTPS port');
        return setInterfaceHttps(
          d,
          field(page.form, 'interface'),
          https === null ? null : { port: https, certificate: field(page.form, 'certificate') || null, httpRedirect: port(field(page.form, 'httpRedirect'), 'HTTP redirect port') },
        );
      }, `HTTPS settings of interface ${field(page.form, 'interface')} changed.`),
    'administrator',
  );
}
