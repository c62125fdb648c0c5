import { X509Certificate } from 'node:crypto';
import { DANE_LABELS, destinationFor, TLS_LABELS } from '../../store/destinations/destinations.js';
import type { AttemptContext } from './attempt.js';
import { strictest } from './policy/chain.js';
import { probeHosts } from './probeHosts.js';
import { vouchedBy } from './policy/identity.js';
import { policiesFor } from './policy/policies.js';
import { decide, type Observation } from './policy/tlsDecision.js';
import { resolveRoute } from './route.js';

const VERDICT = { 'send-tls': 'mail would be delivered over TLS', 'send-clear': 'mail would be delivered in clear', defer: 'nothing would be sent; delivery would be retried later' };

/** What the server did, in the appliance's words. */
export function describeObservation(obs: Observation): string[] {
  switch (obs.stage) {
    case 'no-esmtp':
      return ['The remote MTA does not support ESMTP.'];
    case 'no-starttls':
      return ['STARTTLS is not in the EHLO list.'];
    case 'starttls-refused':
      return [`STARTTLS was answered with an error: ${obs.reply}`];
    case 'handshake-failed':
      return [`TLS handshake failed: ${obs.error}`];
    case 'secure': {
      const v = obs.verification;
      return [
        `TLS connection established: protocol ${obs.protocol}, cipher ${obs.cipher}.`,
        v?.ok ? `Certificate verification successful${v.by === 'DANE' ? ` (${vouchedBy(v)})` : ''}.` : `Certificate verification failed: ${v && !v.ok ? v.reason : 'not checked'}`,
      ];
    }
  }
}

/** When the chain stops at an issuer a disabled CA list has, say so (the usual first-day mistake). */
function disabledListHint(ctx: AttemptContext, obs: Observation, disabledSystem: readonly string[] | undefined): string[] {
  if (obs.stage !== 'secure' || obs.verification?.ok !== false) return [];
  const cas = ctx.config.certificateAuthorities;
  if (!cas.system.enabled && !cas.custom.enabled) return ['No CA list is enabled: "certconfig certauthority system enable" or "certconfig certauthority custom enable", and commit.'];
  const issuer = /no enabled CA list has "([^"]+)"/.exec(obs.verification.reason)?.[1];
  if (!issuer) return [];
  const norm = (dn: string) => dn.replace(/\n/g, ', ').toLowerCase();
  const has = (list: readonly string[]) => list.some((pem) => norm(new X509Certificate(pem).subject) === norm(issuer));
  const custom = cas.custom;
  const lists = [
    ...(disabledSystem && has(disabledSystem) ? ['system'] : []),
    ...(!custom.enabled && has(custom.certificates) ? ['custom'] : []),
  ];
  return lists.map((l) => `The ${l} CA list has "${issuer}" but is disabled: "certconfig certauthority ${l} enable" and commit.`);
}

/**
 * tlsverify DOMAIN: route → DANE lookups (when the destination uses DANE) → connect → STARTTLS →
 * handshake → verification, told step by step, and what the domain's settings would do with it.
 * Nothing is delivered.
 */
export async function tlsVerify(ctx: AttemptContext, domain: string, disabledSystem?: readonly string[]): Promise<string[]> {
  const lines: string[] = [];
  const dest = destinationFor(ctx.config.delivery, domain);
  const { setting, dane, mtaSts, source, policies } = policiesFor(ctx, domain, dest);
  lines.push(`TLS setting for ${domain}: ${TLS_LABELS[setting]}, DANE ${DANE_LABELS[dane]}${mtaSts ? ', MTA-STS Yes' : ''} (${source === 'Default' ? 'the default entry' : `entry ${source}`})`);
  let targets;
  try {
    targets = (await resolveRoute(ctx.config, domain, ctx.dns, dest.ipSort)).targets;
  } catch (err) {
    lines.push(`No route to ${domain}: ${(err as Error).message}`);
    return lines;
  }
  const done = await probeHosts(ctx, domain, setting, policies, targets, {
    plan(target, req) {
      const lines = req.notes.map((n) => `${n.by}: ${n.text}`);
      if (req.refuse) return { lines: [...lines, `${target.host} (MX ${target.mxHost}) would not be used: ${req.refuse}`] };
      lines.push(`Connecting to ${target.host} on port ${target.port}${target.mxHost !== target.host ? ` (MX ${target.mxHost})` : ''}.`);
      // Always try TLS and check the certificate, so the administrator sees what the peer offers.
      return { lines, connectWith: strictest(req, { attempt: true, verify: 'try' }) };
    },
    judge(_target, req, obs) {
      const decision = req.attempt ? decide(req, obs) : { action: 'send-clear' as const };
      return {
        done: true,
        lines: [
          ...describeObservation(obs),
          ...disabledListHint(ctx, obs, disabledSystem),
          `Under "${TLS_LABELS[setting]}"${dane !== 'none' ? ` with DANE ${DANE_LABELS[dane]}` : ''}${mtaSts ? ' with MTA-STS' : ''}: ${VERDICT[decision.action]}.`,
          decision.action === 'defer' ? `TLS verification FAILED for ${domain}.` : `TLS verification completed for ${domain}.`,
        ],
      };
    },
  }, lines);
  if (done) return lines;
  lines.push(`No mail exchanger of ${domain} could be reached.`);
  return lines;
}
