import { DANE_LABELS, DANE_MODES, DEST_TLS, type Destination, destinationForPattern, inheritedOffByTls, IP_SORT, IP_SORT_LABELS, LIMIT_SCOPE_LABELS, LIMIT_SCOPES, LIMIT_TYPE_LABELS, LIMIT_TYPES, MTA_STS_MODES, TLS_LABELS } from '../../store/destinations/destinations.js';
import { deleteDestination, parseDaneMode, parseDestinationTls, parseIpSort, parseLimitScope, parseLimitType, parseMtaStsMode, putDestination, setDeliverySetup, setDestinationDefaults } from '../../store/destinations/edits.js';
import { parseYesNo } from '../../store/answers.js';
import { domainProblem } from '../../store/grammar.js';
import { ConfigError } from '../../store/schema.js';
import { countField, done, edit, field, type GuiDeps, type Page, render, type Router } from '../gui.js';

const STS_LABELS = { no: 'No', yes: 'Yes' } as const;

/** A count field: empty means "use the default entry's value". */
function count(page: Page, name: string, what: string, max: number): number | undefined {
  return field(page.form, name) === '' ? undefined : countField(page.form, name, what, { min: 1, max });
}

/** The entry a destination form describes; "default" (or empty) leaves a setting to the default entry. */
function entryFrom(page: Page, domain: string): Destination {
  const choice = <T>(name: string, parse: (v: string) => T | undefined) => parse(field(page.form, name) || 'default');
  return {
    domain,
    tls: choice('tls', parseDestinationTls),
    dane: choice('dane', parseDaneMode),
    mtaSts: choice('mtaSts', parseMtaStsMode),
    ipSort: choice('ipSort', parseIpSort),
    maxConcurrency: count(page, 'maxConcurrency', 'Max concurrency', 1000),
    limitType: choice('limitType', parseLimitType),
    limitScope: choice('limitScope', parseLimitScope),
    messagesPerConnection: count(page, 'messagesPerConnection', 'Messages per connection', 10000),
    bounceVerification: choice('bounceVerification', (v) => (v === 'default' ? undefined : parseYesNo(v, 'Bounce verification'))),
    bounceProfile: choice('bounceProfile', (v) => (v === 'default' ? undefined : v)),
  };
}

/** Mail Policies > Destination Controls: the table, add, edit, delete, the default entry and global settings. */
export function destinationRoutes(router: Router, _deps: GuiDeps): void {
  const options = {
    tls: DEST_TLS.map((v) => ({ value: v, label: TLS_LABELS[v] })),
    dane: DANE_MODES.map((v) => ({ value: v, label: DANE_LABELS[v] })),
    mtaSts: MTA_STS_MODES.map((v) => ({ value: v, label: STS_LABELS[v] })),
    ipSort: IP_SORT.map((v) => ({ value: v, label: IP_SORT_LABELS[v] })),
    limitType: LIMIT_TYPES.map((v) => ({ value: v, label: LIMIT_TYPE_LABELS[v] })),
    limitScope: LIMIT_SCOPES.map((v) => ({ value: v, label: LIMIT_SCOPE_LABELS[v] })),
    bounceVerification: [
      { value: 'yes', label: 'Yes' },
      { value: 'no', label: 'No' },
    ],
  };
  /** The profiles to choose from (bounceconfig). */
  const profiles = (page: Page) => page.draft.bounceProfiles.map((p) => ({ value: p.name, label: p.name }));

  router.get('/destinations', (page) => {
    const d = page.draft.delivery;
    const rows = d.destinations.map((e) => {
      const r = destinationForPattern(d, e.domain);
      const show = <K extends 'tls' | 'dane' | 'mtaSts'>(k: K, labels: Record<string, string>) =>
        k !== 'tls' && inheritedOffByTls(e, k as 'dane' | 'mtaSts') ? `${labels[r[k]]} (TLS is No)` : e[k] === undefined ? `Default (${labels[d.defaults[k]]})` : labels[e[k]!];
      const ipSort = e.ipSort === undefined ? `Default (${IP_SORT_LABELS[d.defaults.ipSort]})` : IP_SORT_LABELS[e.ipSort];
      return { domain: e.domain, tls: show('tls', TLS_LABELS), dane: show('dane', DANE_LABELS), mtaSts: show('mtaSts', STS_LABELS), ipSort, maxConcurrency: r.maxConcurrency, messagesPerConnection: r.messagesPerConnection };
    });
    return render(page, 'destinations', {
      title: 'Destination Controls',
      rows,
      defaults: { ...d.defaults, tlsLabel: TLS_LABELS[d.defaults.tls], daneLabel: DANE_LABELS[d.defaults.dane], mtaStsLabel: STS_LABELS[d.defaults.mtaSts], ipSortLabel: IP_SORT_LABELS[d.defaults.ipSort] },
      global: { certificate: d.certificate, alertOnRequiredTlsFailure: d.alertOnRequiredTlsFailure, alertOnDaneFailure: d.alertOnDaneFailure },
      certificates: page.draft.certificates.map((c) => c.name),
      options: { ...options, bounceProfile: profiles(page) },
    });
  });

  router.get('/destinations/edit', (page) => {
    const domain = String((page.req.query as Record<string, unknown>).domain ?? '');
    const entry = page.draft.delivery.destinations.find((e) => e.domain.toLowerCase() === domain.toLowerCase());
    if (!entry) return done(page, '/destinations', 'error', `${domain} was not found in the destination control table.`);
    return render(page, 'destination', { title: `Edit Destination Control: ${entry.domain}`, entry, options: { ...options, bounceProfile: profiles(page) } });
  });

  router.post('/destinations/new', (page) =>
    edit(page, '/destinations', (draft) => {
      const domain = field(page.form, 'domain');
      const problem = domainProblem(domain);
      if (problem) throw new ConfigError(problem);
      return putDestination(draft, entryFrom(page, domain), { create: true });
    }, `Destination control for ${field(page.form, 'domain')} added.`),
  );

  router.post('/destinations/edit', (page) =>
    edit(page, '/destinations', (draft) => putDestination(draft, entryFrom(page, field(page.form, 'domain')), { create: false }), `Destination control for ${field(page.form, 'domain')} changed.`),
  );

  router.post('/destinations/delete', (page) =>
    edit(page, '/destinations', (draft) => deleteDestination(draft, field(page.form, 'domain')), `${field(page.form, 'domain')} removed from the destination control table.`),
  );

  router.post('/destinations/default', (page) =>
    edit(page, '/destinations', (draft) => {
      const e = entryFrom(page, 'default');
      if (e.tls === undefined || e.dane === undefined || e.mtaSts === undefined) throw new ConfigError('The default entry needs a TLS, DANE and MTA-STS setting of its own.');
      const { domain: _d, ...changes } = e;
      return setDestinationDefaults(draft, Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)));
    }, 'The default destination control changed.'),
  );

  router.post('/destinations/global', (page) =>
    edit(page, '/destinations', (draft) =>
      setDeliverySetup(draft, {
        certificate: field(page.form, 'certificate') || null,
        alertOnRequiredTlsFailure: field(page.form, 'alertOnRequiredTlsFailure') === 'yes',
        alertOnDaneFailure: field(page.form, 'alertOnDaneFailure') === 'yes',
      }), 'Global settings changed.'),
  );
}
