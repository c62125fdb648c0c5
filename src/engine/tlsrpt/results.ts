import type { Observation } from '../delivery/policy/tlsDecision.js';

/** RFC 8460 §4.3 result types this gateway reports. */
export type ResultType =
  | 'starttls-not-supported'
  | 'certificate-host-mismatch'
  | 'certificate-expired'
  | 'certificate-not-trusted'
  | 'validation-failure'
  | 'tlsa-invalid'
  | 'dnssec-invalid'
  | 'dane-required'
  | 'sts-policy-fetch-error'
  | 'sts-policy-invalid'
  | 'sts-webpki-invalid';

/** The policy a session was made under, as a report names it (RFC 8460 §4.4). */
export interface ReportedPolicy {
  type: 'sts' | 'tlsa' | 'no-policy-found';
  /** The policy domain (the recipient domain). */
  domain: string;
  /** sts: the policy file's lines; tlsa: the TLSA records in presentation form. */
  strings: string[];
  /** tlsa: the MX host the records belong to; sts: the policy's mx patterns. */
  mxHosts: string[];
}

export interface SessionFailure {
  type: ResultType;
  mxHost?: string;
  receivingIp?: string;
  sendingIp?: string;
  /** Free text for the failure-reason-code field. */
  reason?: string;
}

/** One TLS session (or a host not even tried) under a policy: success, or the failure that ended it. */
export interface SessionReport {
  policy: ReportedPolicy;
  failure?: SessionFailure;
}

/** Where policies record what happened (the daily TLS reports); delivery only, not probes. */
export interface TlsReportSink {
  record(report: SessionReport): void;
}

/**
 * The result type of a TLS failure from what the server did and the verification's reason, for
 * a session that did not succeed.
 */
export function sessionFailureType(obs: Observation | null, reason = ''): ResultType {
  if (!obs || obs.stage === 'no-starttls' || obs.stage === 'no-esmtp' || obs.stage === 'starttls-refused') return 'starttls-not-supported';
  if (obs.stage === 'handshake-failed') return 'validation-failure';
  if (/^DANE/.test(reason)) return 'tlsa-invalid';
  if (/expired|not yet valid|validity/i.test(reason)) return 'certificate-expired';
  if (/does not match|no .*matches|matches no|dNSName/i.test(reason)) return 'certificate-host-mismatch';
  if (/chain|trusted|authorit|self.signed|issuer/i.test(reason)) return 'certificate-not-trusted';
  return 'validation-failure';
}
