import { destinationFor } from '../../store/destinations.js';
import type { DnsSecurity } from '../dns/client.js';
import { type AttemptContext, close, localAddressOf, open, type Opened } from './attempt.js';
import { preparePolicies, requirementForMx } from './policy/chain.js';
import { policiesFor } from './policy/policies.js';
import { describeObservation } from './tlsverify.js';
import { resolveRoute, type Route } from './route.js';

const WORD: Record<DnsSecurity, string> = { secure: 'SECURE', insecure: 'INSECURE', bogus: 'BOGUS' };

function dnsLines(route: Route, domain: string): string[] {
  const lines: string[] = [];
  if (route.via === 'route') lines.push(`SMTP route for ${domain}: ${[...new Set(route.targets.map((t) => t.mxHost))].join(', ')} (configured; no MX lookup)`);
  else if (route.via === 'implicit') lines.push(`${WORD[route.mxSecurity]} no MX record for ${domain}: the domain itself is the mail exchanger`);
  else for (const mx of new Set(route.targets.map((t) => t.mxHost))) lines.push(`${WORD[route.mxSecurity]} MX record(${mx}) found for ${domain}`);
  return lines;
}

/**
 * daneverify DOMAIN: the DANE steps of delivery in the appliance's words — DNSSEC status of the MX
 * and address records, the TLSA lookup, the TLS handshake and the match — host by host until one
 * passes. Uses DANE Opportunistic where the destination does not enable DANE (Mandatory where it
 * does), so it says whether the domain could be delivered with DANE. Sends no mail.
 */
export async function daneVerify(ctx: AttemptContext, domain: string): Promise<{ lines: string[]; ok: boolean }> {
  const lines: string[] = [];
  const dest = destinationFor(ctx.config.delivery, domain);
  const { setting, policies: probePolicies } = policiesFor(ctx, domain, dest.dane === 'none' ? { tls: dest.tls === 'no' ? 'preferred' : dest.tls, dane: 'opportunistic', mtaSts: false } : { mtaSts: false });
  let route: Route;
  try {
    route = await resolveRoute(ctx.config, domain, ctx.dns);
  } catch (err) {
    lines.push(`MX lookup for ${domain}: ${(err as Error).message}`, `DANE FAILED for ${domain}`);
    return { lines, ok: false };
  }
  lines.push(...dnsLines(route, domain), ...route.problems);
  preparePolicies(probePolicies, route.targets);
  for (const target of route.targets) {
    lines.push(`${WORD[target.dnssec.address]} ${target.host.includes(':') ? 'AAAA' : 'A'} record (${target.host}) found for MX(${target.mxHost}) in ${domain}`);
    const req = await requirementForMx(setting, probePolicies, { domain, mxHost: target.mxHost, target });
    if (!req.dane) {
      lines.push(...req.notes.map((n) => n.text), ...(req.refuse ? [req.refuse] : []), `MX(${target.mxHost}) does not support DANE.`);
      continue;
    }
    lines.push(`Connecting to ${target.host} on port ${target.port}.`);
    let opened: Opened;
    try {
      opened = await open(ctx, target, domain, req, true, probePolicies);
    } catch (err) {
      lines.push(`Connection failed: ${(err as Error).message}`);
      continue;
    }
    lines.push(`Connected to ${target.host} from interface ${localAddressOf(opened)}.`, ...req.notes.map((n) => n.text), 'Checking TLS connection.');
    const obs = opened.observation!;
    lines.push(...describeObservation(obs));
    close(ctx.log, opened);
    if (obs.stage === 'secure' && obs.verification?.ok) {
      lines.push(`TLS connection succeeded ${domain}.`, `DANE SUCCESS for ${domain}`);
      return { lines, ok: true };
    }
    lines.push(`TLS connection failed for MX(${target.mxHost}).`);
  }
  lines.push(`DANE FAILED for ${domain}`);
  return { lines, ok: false };
}
