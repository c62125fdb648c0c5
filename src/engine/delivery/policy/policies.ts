import { destinationFor, type DaneMode, type DestinationTls } from '../../../store/destinations.js';
import type { Config } from '../../../store/schema.js';
import type { DnsClient } from '../../dns/client.js';
import { destinationControl, type TlsPolicy } from './chain.js';
import { danePolicy } from './dane.js';

export interface PolicyContext {
  config: Config;
  /** Trust anchors: the enabled system and custom CA lists (PEM). */
  trusted: string[];
  dns: DnsClient;
}

export interface DestinationPolicies {
  setting: DestinationTls;
  dane: DaneMode;
  /** Where the settings come from: "Default" or the entry's domain. */
  source: string;
  policies: TlsPolicy[];
}

/**
 * The delivery security chain for one destination domain — the same for delivery, tlsverify and
 * daneverify: the destination control (its TLS setting, certificate checks against the CA lists),
 * then DANE when the destination enables it. `override` replaces the destination's settings
 * (alerts: Preferred without DANE; daneverify: DANE even where the destination does not use it).
 */
export function policiesFor(ctx: PolicyContext, domain: string, override: { tls?: DestinationTls; dane?: DaneMode } = {}): DestinationPolicies {
  const dest = destinationFor(ctx.config.delivery, domain);
  const setting = override.tls ?? dest.tls;
  const dane: DaneMode = override.dane ?? dest.dane;
  const policies: TlsPolicy[] = [
    destinationControl(setting, { trusted: ctx.trusted, fqdnCheck: ctx.config.tls.peerCertFqdn, x509Check: ctx.config.tls.peerCertX509 }),
  ];
  if (dane !== 'none') policies.push(danePolicy(dane, domain, (owner) => ctx.dns.lookup(owner, 'TLSA')));
  return { setting, dane, source: dest.source, policies };
}
