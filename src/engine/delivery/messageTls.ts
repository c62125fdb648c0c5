import type { DaneMode, DestinationTls, ResolvedDestination } from '../../store/destinations/destinations.js';
import type { Envelope } from '../queue/spool.js';

/** What a message itself asks of its delivery's TLS (the envelope's flags). */
export type MessageTls = Pick<Envelope, 'alert' | 'requireTls' | 'tlsOptional'>;

export interface MessageOverride {
  tls: DestinationTls;
  dane: DaneMode;
  mtaSts: boolean;
  /** For the mail log: why this message's delivery does not follow the destination's settings. */
  why: string;
}

/**
 * The destination settings a message replaces with its own, or undefined when it follows them:
 * - an alert or a TLS report goes out with TLS Preferred, no DANE, no MTA-STS (it must get out);
 * - REQUIRETLS (RFC 8689 §4.2.1) needs verified TLS whatever the destination says: DANE where TLSA
 *   records are published, else the CA lists; MTA-STS is looked up (an enforce policy qualifies a host);
 * - "TLS-Required: No" (RFC 8689 §5) asks for TLS when offered and nothing more.
 * REQUIRETLS wins over the header (the listener keeps only one of the two).
 */
export function messageOverride(dest: ResolvedDestination, message: MessageTls): MessageOverride | undefined {
  if (message.alert) return { tls: 'preferred', dane: 'none', mtaSts: false, why: 'alert or report: TLS Preferred' };
  if (message.requireTls) {
    return {
      tls: dest.tls === 'required-verify-hosted' ? dest.tls : 'required-verify',
      dane: dest.dane === 'none' ? 'opportunistic' : dest.dane,
      mtaSts: true,
      why: 'REQUIRETLS: verified TLS to a host that offers REQUIRETLS',
    };
  }
  if (message.tlsOptional) return { tls: 'preferred', dane: 'none', mtaSts: false, why: "TLS-Required: No: the destination's TLS, DANE and MTA-STS requirements are ignored (RFC 8689); TLS Preferred" };
  return undefined;
}
