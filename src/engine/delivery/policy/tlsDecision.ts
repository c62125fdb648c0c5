import type { DestinationTls } from '../../../store/destinations/destinations.js';
import type { Judgement } from './identity.js';

/**
 * The destination control's TLS decision for one delivery connection, as a pure function of the
 * setting and what the server did. The delivery loop reports what it observed and acts on the
 * answer; DANE and MTA-STS will add their own stricter requirements on top.
 */

export interface TlsRequirement {
  setting: DestinationTls;
  /** Send STARTTLS at all. */
  attempt: boolean;
  /** Without TLS nothing may be sent. */
  mustEncrypt: boolean;
  verify: 'none' | 'try' | 'must';
  identity: 'standard' | 'hosted';
}

export function requirementFor(setting: DestinationTls): TlsRequirement {
  const base = { setting, identity: 'standard' as const };
  switch (setting) {
    case 'no':
      return { ...base, attempt: false, mustEncrypt: false, verify: 'none' };
    case 'preferred':
      return { ...base, attempt: true, mustEncrypt: false, verify: 'none' };
    case 'required':
      return { ...base, attempt: true, mustEncrypt: true, verify: 'none' };
    case 'preferred-verify':
      return { ...base, attempt: true, mustEncrypt: false, verify: 'try' };
    case 'required-verify':
      return { ...base, attempt: true, mustEncrypt: true, verify: 'must' };
    case 'required-verify-hosted':
      return { ...base, attempt: true, mustEncrypt: true, verify: 'must', identity: 'hosted' };
  }
}

/** What the server did on this connection. */
export type Observation =
  | { stage: 'no-esmtp' }
  | { stage: 'no-starttls' }
  | { stage: 'starttls-refused'; reply: string }
  | { stage: 'handshake-failed'; error: string }
  | { stage: 'secure'; protocol: string; cipher: string; verification: Judgement | null };

export type Decision =
  | { action: 'send-clear'; log: string }
  | { action: 'send-tls'; verified: boolean; log: string }
  /** Nothing is sent on this connection; the message is retried later. */
  | { action: 'defer'; requiredTlsFailed: boolean; log: string };

const WHY: Record<'no-esmtp' | 'no-starttls', string> = {
  'no-esmtp': 'the remote MTA does not support ESMTP',
  'no-starttls': 'STARTTLS is not in the EHLO list',
};

export function decide(req: TlsRequirement, obs: Observation): Decision {
  if (obs.stage === 'secure') {
    const tail = `protocol ${obs.protocol} cipher ${obs.cipher}`;
    if (req.verify === 'none') {
      const v = obs.verification;
      const looked = !v ? 'not checked' : v.ok ? 'not required; the certificate verifies' : `not required; it would not verify: ${v.reason}`;
      return { action: 'send-tls', verified: false, log: `TLS success ${tail} verified no (${looked})` };
    }
    if (obs.verification?.ok) return { action: 'send-tls', verified: true, log: `TLS success ${tail} verified yes${obs.verification.by === 'DANE' ? ' (DANE)' : ''}` };
    const reason = obs.verification ? obs.verification.reason : 'not checked';
    if (req.verify === 'try') return { action: 'send-tls', verified: false, log: `TLS success ${tail} verified no: ${reason}` };
    return { action: 'defer', requiredTlsFailed: true, log: `TLS failed: certificate verification failed: ${reason}` };
  }
  // A failed handshake happens after the server's 220: never fall back to clear on this attempt.
  if (obs.stage === 'handshake-failed') return { action: 'defer', requiredTlsFailed: req.mustEncrypt, log: `TLS failed: handshake failed: ${obs.error}` };
  const why = obs.stage === 'starttls-refused' ? `STARTTLS was answered with an error: ${obs.reply}` : WHY[obs.stage];
  if (req.mustEncrypt) {
    // The AsyncOS guide's line for a peer without STARTTLS; the next line says what it did not offer.
    if (obs.stage === 'no-starttls') return { action: 'defer', requiredTlsFailed: true, log: `TLS failed: TLS required, STARTTLS unavailable, destination is TLS disabled (${why})` };
    return { action: 'defer', requiredTlsFailed: true, log: `TLS failed: ${why}; TLS was required but could not be successfully negotiated` };
  }
  const setting = req.verify === 'try' ? 'TLS Preferred (Verify): the certificate could not be verified either' : 'TLS preferred';
  return { action: 'send-clear', log: req.attempt ? `TLS not used: ${why}; delivering in clear (${setting})` : 'TLS not used (destination setting No)' };
}
