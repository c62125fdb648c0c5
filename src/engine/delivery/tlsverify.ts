import { destinationFor, TLS_LABELS } from '../../store/destinations.js';
import { type AttemptContext, close, open, type Opened } from './attempt.js';
import { destinationControl, requirementForMx, strictest } from './policy/chain.js';
import { decide } from './policy/tlsDecision.js';
import { resolveTargets } from './route.js';

const VERDICT = { 'send-tls': 'mail would be delivered over TLS', 'send-clear': 'mail would be delivered in clear', defer: 'nothing would be sent; delivery would be retried later' };

/**
 * tlsverify DOMAIN: route → connect → STARTTLS → handshake → verification, told step by step, and
 * what the domain's TLS setting would do with it. Nothing is delivered.
 */
export async function tlsVerify(ctx: AttemptContext, domain: string): Promise<string[]> {
  const lines: string[] = [];
  const dest = destinationFor(ctx.config.delivery, domain);
  lines.push(`TLS setting for ${domain}: ${TLS_LABELS[dest.tls]} (${dest.source === 'Default' ? 'the default entry' : `entry ${dest.source}`})`);
  let targets;
  try {
    targets = await resolveTargets(ctx.config, domain);
  } catch (err) {
    lines.push(`No route to ${domain}: ${(err as Error).message}`);
    return lines;
  }
  const policies = [destinationControl(dest.tls)];
  for (const target of targets) {
    const setting = requirementForMx(dest.tls, policies, { domain, mxHost: target.mxHost });
    // Always try TLS and check the certificate, so the administrator sees what the peer offers.
    const probe = strictest(setting, { attempt: true, verify: 'try' });
    lines.push(`Connecting to ${target.host} on port ${target.port}${target.mxHost !== target.host ? ` (MX ${target.mxHost})` : ''}.`);
    let opened: Opened;
    try {
      opened = await open(ctx, target, domain, probe, true);
    } catch (err) {
      lines.push(`Connection failed: ${(err as Error).message}`);
      continue;
    }
    lines.push(`Connected to ${target.host}.`);
    const obs = opened.observation!;
    switch (obs.stage) {
      case 'no-esmtp':
        lines.push('The remote MTA does not support ESMTP.');
        break;
      case 'no-starttls':
        lines.push('STARTTLS is not in the EHLO list.');
        break;
      case 'starttls-refused':
        lines.push(`STARTTLS was answered with an error: ${obs.reply}`);
        break;
      case 'handshake-failed':
        lines.push(`TLS handshake failed: ${obs.error}`);
        break;
      case 'secure':
        lines.push(`TLS connection established: protocol ${obs.protocol}, cipher ${obs.cipher}.`);
        lines.push(obs.verification?.ok ? 'Certificate verification successful.' : `Certificate verification failed: ${obs.verification && !obs.verification.ok ? obs.verification.reason : 'not checked'}`);
        break;
    }
    const decision = setting.attempt ? decide(setting, obs) : { action: 'send-clear' as const };
    lines.push(`Under "${TLS_LABELS[dest.tls]}": ${VERDICT[decision.action]}.`);
    lines.push(decision.action === 'defer' ? `TLS verification FAILED for ${domain}.` : `TLS verification completed for ${domain}.`);
    close(ctx.log, opened);
    return lines;
  }
  lines.push(`No mail exchanger of ${domain} could be reached.`);
  return lines;
}
