import type { DaneMode, DestinationTls, ResolvedDestination } from '../../../store/destinations/destinations.js';
import type { Config } from '../../../store/schema.js';
import type { DnsClient } from '../../dns/client.js';
import type { MailLog } from '../../log/mailLog.js';
import type { MtaStsService } from '../../mtasts/service.js';
import type { TlsReportSink } from '../../tlsrpt/results.js';
import { destinationControl, type TlsPolicy } from './chain.js';
import { danePolicy } from './dane.js';
import { mtaStsPolicy } from './mtasts.js';

export interface PolicyContext {
  config: Config;
  /** Trust anchors: the enabled system and custom CA lists (PEM). */
  trusted: string[];
  dns: DnsClient;
  log: MailLog;
  /** MTA-STS policies (cache and discovery); without it MTA-STS is off. */
  mtaSts?: MtaStsService;
  /** TLS report material (delivery only: probes do not count). */
  reports?: TlsReportSink;
}

export interface DestinationPolicies {
  setting: DestinationTls;
  dane: DaneMode;
  mtaSts: boolean;
  /** Where the settings come from: "Default" or the entry's domain. */
  source: string;
  policies: TlsPolicy[];
}

/**
 * The delivery security chain for one destination domain (`dest`: its settings, resolved once by
 * the caller) — the same for delivery, tlsverify and
 * daneverify: the destination control (its TLS setting, certificate checks against the CA lists),
 * then DANE, then MTA-STS, as the destination enables them. DANE Mandatory leaves MTA-STS out (the
 * AsyncOS guide's third table: it is not consulted). `override` replaces the destination's settings
 * (alerts and reports: Preferred without DANE or MTA-STS; daneverify: DANE where the destination does
 * not use it).
 */
export function policiesFor(ctx: PolicyContext, domain: string, dest: ResolvedDestination, override: { tls?: DestinationTls; dane?: DaneMode; mtaSts?: boolean } = {}): DestinationPolicies {
  const setting = override.tls ?? dest.tls;
  const dane: DaneMode = override.dane ?? dest.dane;
  const mtaSts = (override.mtaSts ?? dest.mtaSts === 'yes') && setting !== 'no' && dane !== 'mandatory' && ctx.mtaSts !== undefined;
  const policies: TlsPolicy[] = [
    destinationControl(setting, { trusted: ctx.trusted, fqdnCheck: ctx.config.tls.peerCertFqdn, x509Check: ctx.config.tls.peerCertX509 }),
  ];
  if (dane !== 'none') policies.push(danePolicy(dane, domain, (owner) => ctx.dns.lookup(owner, 'TLSA'), ctx.reports));
  if (mtaSts) {
    const service = ctx.mtaSts!;
    policies.push(mtaStsPolicy(domain, { lookup: () => service.policyFor(domain, ctx), trusted: ctx.trusted, log: ctx.log, ...(ctx.reports ? { reports: ctx.reports } : {}) }));
  }
  return { setting, dane, mtaSts, source: dest.source, policies };
}
