import { DANE_LABELS, TLS_LABELS } from '../../store/destinations.js';
import { type AttemptContext, close, localAddressOf, open, type Opened } from './attempt.js';
import { preparePolicies, requirementForMx, strictest } from './policy/chain.js';
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
        v?.ok ? `Certificate verification successful${v.by?.startsWith('DANE') ? ` (${v.by})` : ''}.` : `Certificate verification failed: ${v && !v.ok ? v.reason : 'not checked'}`,
      ];
    }
  }
}

/**
 * tlsverify DOMAIN: route → DANE lookups (when the destination uses DANE) → connect → STARTTLS →
 * handshake → verification, told step by step, and what the domain's settings would do with it.
 * Nothing is delivered.
 */
export async function tlsVerify(ctx: AttemptContext, domain: string): Promise<string[]> {
  const lines: string[] = [];
  const { setting, dane, mtaSts, source, policies } = policiesFor(ctx, domain);
  lines.push(`TLS setting for ${domain}: ${TLS_LABELS[setting]}, DANE ${DANE_LABELS[dane]}${mtaSts ? ', MTA-STS Yes' : ''} (${source === 'Default' ? 'the default entry' : `entry ${source}`})`);
  let targets;
  try {
    targets = (await resolveRoute(ctx.config, domain, ctx.dns)).targets;
  } catch (err) {
    lines.push(`No route to ${domain}: ${(err as Error).message}`);
    return lines;
  }
  preparePolicies(policies, targets);
  for (const target of targets) {
    const req = await requirementForMx(setting, policies, { domain, mxHost: target.mxHost, target });
    lines.push(...req.notes.map((n) => `${n.by}: ${n.text}`));
    if (req.refuse) {
      lines.push(`${target.host} (MX ${target.mxHost}) would not be used: ${req.refuse}`);
      continue;
    }
    // Always try TLS and check the certificate, so the administrator sees what the peer offers.
    const probe = strictest(req, { attempt: true, verify: 'try' });
    lines.push(`Connecting to ${target.host} on port ${target.port}${target.mxHost !== target.host ? ` (MX ${target.mxHost})` : ''}.`);
    let opened: Opened;
    try {
      opened = await open(ctx, target, domain, probe, true, policies);
    } catch (err) {
      lines.push(`Connection failed: ${(err as Error).message}`);
      continue;
    }
    lines.push(`Connected to ${target.host} from interface ${localAddressOf(opened)}.`);
    const obs = opened.observation!;
    lines.push(...describeObservation(obs));
    const decision = req.attempt ? decide(req, obs) : { action: 'send-clear' as const };
    lines.push(`Under "${TLS_LABELS[setting]}"${dane !== 'none' ? ` with DANE ${DANE_LABELS[dane]}` : ''}${mtaSts ? ' with MTA-STS' : ''}: ${VERDICT[decision.action]}.`);
    lines.push(decision.action === 'defer' ? `TLS verification FAILED for ${domain}.` : `TLS verification completed for ${domain}.`);
    close(ctx.log, opened);
    return lines;
  }
  lines.push(`No mail exchanger of ${domain} could be reached.`);
  return lines;
}
