import type { MxRequirement, MxTarget, TlsPolicy } from './chain.js';

/**
 * RFC 8689 §4.2.1, for a message sent with REQUIRETLS: a host may carry it only if the MX lookup
 * that named it was DNSSEC-secure (an SMTP route is the administrator's own word) or an MTA-STS
 * policy in enforce mode names it, and only over TLS with its certificate verified (DANE where TLSA
 * records are published, else the CA lists and the host name). Last in the chain, so it sees what
 * DANE and MTA-STS found. That the host offers REQUIRETLS is checked on the session (attempt.ts).
 */
export function requireTlsPolicy(domain: string): TlsPolicy {
  return {
    name: 'REQUIRETLS',
    demand(mx: MxTarget, sofar: MxRequirement) {
      const secureMx = mx.target?.dnssec.mx === 'secure';
      if (!secureMx && !sofar.mxVouchedBy) {
        return { refuse: `the MX lookup for ${domain} was not DNSSEC-secure and no MTA-STS policy in enforce mode names MX(${mx.mxHost}); a REQUIRETLS message cannot go there` };
      }
      return { attempt: true, mustEncrypt: true, verify: 'must', note: `REQUIRETLS message: MX(${mx.mxHost}) ${secureMx ? 'comes from a DNSSEC-secure lookup or an SMTP route' : `named by the ${sofar.mxVouchedBy} policy in enforce mode`}; TLS with a verified certificate required` };
    },
  };
}
