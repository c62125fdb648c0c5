/**
 * How an attempt went for one recipient, made once where it happened (the SMTP client from the
 * server's reply, the domain loop for hosts it could not use, the scheduler for its own waits) and
 * read as it is by the mail log, the envelope's last response, the DSN, alerts and reports. Nothing
 * downstream looks for a reply code or a status code in text.
 */
export type OutcomeKind = 'delivered' | 'temporary' | 'permanent';

export interface Outcome {
  kind: OutcomeKind;
  /** The server's SMTP reply code (250, 451, 550); absent when no server answered this. */
  code?: number;
  /** The enhanced status code (RFC 3463): the server's, else the one that names what happened. */
  status: string;
  /** What the administrator and the sender read: the server's reply, or what happened. */
  text: string;
}

/** RFC 3463 codes for what happens on our side. */
export const STATUS = {
  /** A server replied without an enhanced status code: its class, nothing more. */
  unspecified: (kind: 'temporary' | 'permanent') => (kind === 'temporary' ? '4.0.0' : '5.0.0'),
  noAnswer: '4.4.1',
  lostConnection: '4.4.2',
  routingFailed: '4.4.3',
  badDestination: '5.1.2',
  congested: '4.4.5',
  tlsNotOffered: '4.7.4',
  tlsFailed: '4.7.5',
  byAdministrator: '5.3.0',
  /** RFC 8689: a REQUIRETLS message found no host that could take it (4.7.30 while it is retried). */
  requireTls: (kind: 'temporary' | 'permanent') => (kind === 'temporary' ? '4.7.30' : '5.7.30'),
} as const;

const ENHANCED = /^[245]\.\d{1,3}\.\d{1,3}$/;

/**
 * A server's reply, read once at the wire: its code decides the kind (2xx delivered, 4xx
 * temporary, 5xx permanent) and its enhanced status code, when it gives one (RFC 2034: the first
 * word after the code), is kept.
 */
export function fromReply(code: number, reply: string): Outcome {
  const kind: OutcomeKind = code >= 200 && code < 300 ? 'delivered' : code >= 500 ? 'permanent' : 'temporary';
  const word = reply.replace(/^\d{3}[ -]/, '').split(/\s/, 1)[0] ?? '';
  const status = ENHANCED.test(word) && word[0] === String(code)[0] ? word : kind === 'delivered' ? '2.0.0' : STATUS.unspecified(kind);
  return { kind, code, status, text: reply };
}

/** Something that happened on our side (no host reached, a policy kept us from sending, ...). */
export function local(kind: 'temporary' | 'permanent', status: string, text: string): Outcome {
  return { kind, status, text };
}

/** The same, with its status code written first in the text, as the appliance writes its own replies. */
export function localReply(kind: 'temporary' | 'permanent', status: string, reason: string): Outcome {
  return { kind, status, text: `${status} ${reason}` };
}
