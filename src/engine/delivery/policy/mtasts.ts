import { peerCertificate, serverNames } from '../../../pki/certificate.js';
import { validateChain } from '../../../pki/chain.js';
import { toPem } from '../../../pki/pem.js';
import type { MailLog } from '../../log/mailLog.js';
import { policyMatches } from '../../mtasts/parse.js';
import type { CachedPolicy, StsLookup } from '../../mtasts/service.js';
import { nameMatches } from '../../tls/names.js';
import { shortList } from '../../../store/text.js';
import { type ReportedPolicy, sessionFailureType, type TlsReportSink } from '../../tlsrpt/results.js';
import type { HostResult, Judgement, MxRequirement, MxTarget, PeerSession, TlsPolicy } from './chain.js';

const TLS12_OR_NEWER = new Set(['TLSv1.2', 'TLSv1.3']);

/**
 * The MTA-STS check of an established session (RFC 8461 §4.2): TLS 1.2 or newer, a chain to the
 * enabled CA lists, and a subjectAltName dNSName matching the MX host (a wildcard only as the
 * left-most label). The common name does not count.
 */
export async function stsPeerCheck(peer: PeerSession, mxHost: string, trusted: string[]): Promise<{ ok: true } | { ok: false; reason: string }> {
  if (!TLS12_OR_NEWER.has(peer.protocol)) return { ok: false, reason: `${peer.protocol} is older than TLS 1.2` };
  if (peer.chain.length === 0) return { ok: false, reason: 'the server sent no certificate' };
  const pems = peer.chain.map((der) => toPem('CERTIFICATE', der));
  const chain = await validateChain(pems[0]!, pems.slice(1), trusted);
  if (!chain.valid) return { ok: false, reason: `certificate chain: ${chain.reason}` };
  const { dnsNames } = serverNames(peerCertificate(pems[0]!));
  if (!dnsNames.some((n) => nameMatches(n, mxHost))) return { ok: false, reason: `no subjectAltName dNSName (${shortList(dnsNames) || 'none'}) matches ${mxHost}` };
  return { ok: true };
}

function reported(domain: string, policy: CachedPolicy): ReportedPolicy {
  const strings = ['version: STSv1', `mode: ${policy.mode}`, ...policy.mx.map((m) => `mx: ${m}`), `max_age: ${policy.maxAge}`];
  return { type: 'sts', domain, strings, mxHosts: policy.mx };
}

export interface StsPolicyDeps {
  /** The policy lookup for the domain (cache, discovery); started in `prepare`. */
  lookup: () => Promise<StsLookup>;
  trusted: string[];
  log: MailLog;
  reports?: TlsReportSink;
}

/**
 * MTA-STS (destconfig --mta-sts yes) as a delivery policy, after DANE in the chain, with the
 * precedence the AsyncOS guide's tables give:
 * - a host DANE authenticates: MTA-STS is skipped ("due to DANE being enforced");
 * - a host DANE refused (bogus lookups, DANE failure): not used, whatever MTA-STS says;
 * - otherwise, `enforce`: only MX hosts matching the policy, TLS 1.2+, a certificate chaining to
 *   the CA lists with the MX host as dNSName, or nothing is sent; `testing`: the destination's TLS
 *   setting decides and failures only go to the TLS reports; no policy (none found, fetch
 *   failed, `mode: none`): the destination's TLS setting decides.
 */
export function mtaStsPolicy(domain: string, deps: StsPolicyDeps): TlsPolicy {
  let pending: Promise<StsLookup> | undefined;
  const lookup = () => (pending ??= deps.lookup());
  let skipLogged = false;
  /** The lookup, once `demand` has waited for it (judge and settle come after a demand). */
  let resolved: StsLookup | undefined;
  /** The MTA-STS verdict on each host's session (kept for `settle` in testing mode). */
  const checks = new Map<string, { ok: true } | { ok: false; reason: string }>();
  const active = (l: StsLookup) => (l.policy && l.policy.mode !== 'none' ? l.policy : null);
  return {
    name: 'MTA-STS',
    prepare() {
      void lookup();
    },
    async demand(mx: MxTarget, sofar: MxRequirement) {
      if (sofar.refuse) return null;
      if (sofar.dane) {
        if (!skipLogged) deps.log.info(`MTA-STS policy will be skipped for the (${domain}) due to DANE being enforced.`);
        skipLogged = true;
        return null;
      }
      const found = (resolved = await lookup());
      const policy = active(found);
      if (!policy) {
        if (found.failure) deps.reports?.record({ policy: { type: 'no-policy-found', domain, strings: [], mxHosts: [] }, failure: { type: found.failure.type, mxHost: mx.mxHost, reason: found.failure.detail } });
        return null;
      }
      deps.log.info(`Applying MTA-STS policy for the domain (${domain}).`);
      if (!policyMatches(policy, mx.mxHost)) {
        const reason = `MTA-STS: MX(${mx.mxHost}) does not match the policy of ${domain} (mx: ${shortList(policy.mx)})`;
        if (policy.mode === 'testing') {
          deps.log.info(`${reason}; testing mode: the destination's TLS setting applies`);
          deps.reports?.record({ policy: reported(domain, policy), failure: { type: 'validation-failure', mxHost: mx.mxHost, reason: 'mx-mismatch' } });
          return { note: reason };
        }
        deps.log.info(`Applying MTA-STS policy for the domain (${domain}) Failed.`);
        deps.reports?.record({ policy: reported(domain, policy), failure: { type: 'validation-failure', mxHost: mx.mxHost, reason: 'mx-mismatch' } });
        return { refuse: reason };
      }
      if (policy.mode === 'testing') return { note: `MTA-STS policy of ${domain} is in testing mode: failures are reported, not enforced` };
      deps.log.info('Enforcing TLS for MTA-STS Policy');
      return { attempt: true, mustEncrypt: true, verify: 'must', vouchesForMx: true };
    },
    async judge(mx, req, peer): Promise<Judgement | null> {
      if (req.dane || req.refuse) return null;
      const policy = resolved && active(resolved);
      if (!policy || !policyMatches(policy, mx.mxHost)) return null;
      const check = await stsPeerCheck(peer, mx.mxHost, deps.trusted);
      checks.set(mx.mxHost, check);
      if (policy.mode === 'testing') return null;
      return check.ok ? { ok: true, by: 'MTA-STS' } : { ok: false, reason: `MTA-STS: ${check.reason}` };
    },
    settle(mx, req, result: HostResult) {
      if (req.dane || req.refuse || result.kind !== 'session') return;
      {
        const policy = resolved && active(resolved);
        if (!policy || !policyMatches(policy, mx.mxHost)) return;
        const check = checks.get(mx.mxHost);
        const ok = result.observation?.stage === 'secure' && check?.ok === true;
        const report = reported(domain, policy);
        const target = mx.target;
        if (ok) {
          if (policy.mode === 'enforce') deps.log.info(`MTA-STS policy for the domain (${domain}) Successful.`);
          deps.reports?.record({ policy: report });
          return;
        }
        const reason = check && !check.ok ? check.reason : undefined;
        const type = sessionFailureType(result.observation, reason);
        if (policy.mode === 'enforce') {
          deps.log.info(result.observation?.stage === 'secure' ? `Applying MTA-STS policy for the domain (${domain}) Failed.` : `Connection for the domain (${domain}) failed when MTA-STS Policy was enforced.`);
        } else {
          deps.log.info(`MTA-STS policy for the domain (${domain}) would have failed (testing mode): ${reason ?? type}`);
        }
        deps.reports?.record({
          policy: report,
          failure: { type, mxHost: mx.mxHost, ...(target ? { receivingIp: target.host } : {}), ...(result.localAddress ? { sendingIp: result.localAddress } : {}), ...(reason ? { reason } : {}) },
        });
      }
    },
  };
}
