import { destinationFor } from '../../store/destinations/destinations.js';
import type { DnsSecurity } from '../dns/client.js';
import type { AttemptContext } from './attempt.js';
import { probeHosts } from './probeHosts.js';
import { policiesFor } from './policy/policies.js';
import { describeObservation } from './tlsverify.js';
import { recordTypeOf, resolveRoute, type Route } from './route.js';

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
  const { setting, policies: probePolicies } = policiesFor(ctx, domain, dest, dest.dane === 'none' ? { tls: dest.tls === 'no' ? 'preferred' : dest.tls, dane: 'opportunistic', mtaSts: false } : { mtaSts: false });
  let route: Route;
  try {
    route = await resolveRoute(ctx.config, domain, ctx.dns, dest.ipSort);
  } catch (err) {
    lines.push(`MX lookup for ${domain}: ${(err as Error).message}`, `DANE FAILED for ${domain}`);
    return { lines, ok: false };
  }
  lines.push(...dnsLines(route, domain), ...route.problems);
  await logChains(ctx, domain, route);
  const ok = await probeHosts(ctx, domain, setting, probePolicies, route.targets, {
    plan(target, req) {
      const lines = [`${WORD[target.dnssec.address]} ${recordTypeOf(target.host)} record (${target.host}) found for MX(${target.mxHost}) in ${domain}`];
      if (!req.dane) return { lines: [...lines, ...req.notes.map((n) => n.text), ...(req.refuse ? [req.refuse] : []), `MX(${target.mxHost}) does not support DANE.`] };
      return { lines: [...lines, `Connecting to ${target.host} on port ${target.port}.`], connectWith: req };
    },
    judge(target, req, obs) {
      const lines = [...req.notes.map((n) => n.text), 'Checking TLS connection.', ...describeObservation(obs)];
      if (obs.stage === 'secure' && obs.verification?.ok) return { done: true, lines: [...lines, `TLS connection succeeded ${domain}.`, `DANE SUCCESS for ${domain}`] };
      return { done: false, lines: [...lines, `TLS connection failed for MX(${target.mxHost}).`] };
    },
  }, lines);
  if (ok) return { lines, ok: true };
  lines.push(`DANE FAILED for ${domain}`);
  return { lines, ok: false };
}

/**
 * At debug log level, what the engine's validator checked for each lookup behind the route (MX,
 * addresses, TLSA): answered from the DNS cache, so this costs no query.
 */
async function logChains(ctx: AttemptContext, domain: string, route: Route): Promise<void> {
  const questions: [string, 'MX' | 'A' | 'AAAA' | 'TLSA'][] = route.via === 'mx' ? [[domain, 'MX']] : [];
  for (const t of route.targets) {
    if (t.mxHost !== t.host) questions.push([t.mxHost, recordTypeOf(t.host)]);
    questions.push([`_${t.port}._tcp.${t.mxHost}`, 'TLSA']);
  }
  for (const [name, type] of new Map(questions.map((q) => [q.join(' '), q])).values()) {
    const answer = await ctx.dns.lookup(name, type);
    if (!answer.chain) return; // validation resolver: the resolver's AD bit, no chain of ours
    const why = answer.reason ?? answer.note;
    ctx.log.debug(`DNSSEC ${answer.security.toUpperCase()} ${name} ${type}${why ? ` (${why})` : ''}: ${answer.chain.join('; ') || 'nothing signed was checked'}`);
  }
}
