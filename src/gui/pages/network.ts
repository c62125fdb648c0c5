import { daneResolverWarning, deleteRoute, hostPortText, parseHostPort, putRoute, setDnsServers } from '../../store/network/routing.js';
import { setValidation } from '../../store/network/trustAnchors.js';
import { domainProblem } from '../../store/grammar.js';
import { ConfigError } from '../../store/schema.js';
import { edit, field, type GuiDeps, render, type Router } from '../gui.js';


/** Comma- or space-separated words of a form field. */
const words = (value: string) => value.split(/[\s,]+/).filter(Boolean);

/**
 * Network > SMTP Routes and DNS, as the shell's smtproutes and dnsconfig: the same store functions,
 * so the same checks and the same words when something is refused.
 */
export function networkRoutes(router: Router, _deps: GuiDeps): void {
  router.get('/smtp-routes', (page) =>
    render(page, 'smtpRoutes', { title: 'SMTP Routes', routes: page.draft.smtpRoutes.map((r) => ({ domain: r.domain, hosts: r.hosts.map(hostPortText).join(', ') })) }),
  );
  router.post('/smtp-routes', (page) =>
    edit(
      page,
      '/smtp-routes',
      (d) => {
        const domain = field(page.form, 'domain');
        const problem = domainProblem(domain);
        if (problem) throw new ConfigError(problem);
        const hosts = words(field(page.form, 'hosts'));
        if (!hosts.length) throw new ConfigError('Give at least one destination host (HOST[:PORT], port 25 by default).');
        return putRoute(d, domain, hosts.map((h) => parseHostPort(h, 25)));
      },
      `Mail for ${field(page.form, 'domain')} goes to ${field(page.form, 'hosts')}.`,
    ),
  );
  router.post('/smtp-routes/delete', (page) => edit(page, '/smtp-routes', (d) => deleteRoute(d, field(page.form, 'domain')), `The SMTP route for ${field(page.form, 'domain')} was deleted.`));

  router.get('/dns', (page) => {
    const dns = page.draft.dns;
    return render(page, 'dns', {
      title: 'DNS',
      servers: dns.servers.join(', '),
      validation: dns.validation,
      anchors: dns.trustAnchors.length,
      updateServers: dns.updateServers.map((u) => `${u.zone}: ${u.server} (TSIG key ${u.keyName})`),
      warning: daneResolverWarning(page.draft),
    });
  });
  router.post('/dns', (page) =>
    edit(
      page,
      '/dns',
      (d) => {
        const mode = field(page.form, 'validation');
        if (mode !== 'builtin' && mode !== 'resolver') throw new ConfigError('DNSSEC validation is "builtin" or "resolver".');
        return setValidation(setDnsServers(d, words(field(page.form, 'servers'))), mode);
      },
      'DNS settings changed.',
    ),
  );
}
