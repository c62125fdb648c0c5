import type { ClientContext } from './smtpClient.js';
import { close, localAddressOf, open } from './smtpClient.js';
import { type MxRequirement, preparePolicies, requirementForMx, type TlsPolicy } from './policy/chain.js';
import type { DestinationTls } from '../../store/destinations/destinations.js';
import type { Observation } from './policy/tlsDecision.js';
import type { Target } from './route.js';

/** What one probe command (tlsverify, daneverify) makes of each host. */
export interface HostProbe {
  /** Lines before connecting, and the requirement to connect with (none: this host is not tried). */
  plan(target: Target, req: MxRequirement): { lines: string[]; connectWith?: MxRequirement };
  /** Lines about the session; `done` ends the probe with this host. */
  judge(target: Target, req: MxRequirement, observation: Observation): { lines: string[]; done: boolean };
}

/**
 * The probe loop shared by tlsverify and daneverify: per host, the policies' requirement, then
 * connect with STARTTLS, say where from, let the probe judge what was observed, close. Nothing is
 * sent but EHLO and STARTTLS. True when the probe was done with a host, false when none decided.
 */
export async function probeHosts(ctx: ClientContext, domain: string, setting: DestinationTls, policies: TlsPolicy[], targets: Target[], probe: HostProbe, lines: string[]): Promise<boolean> {
  preparePolicies(policies, targets);
  for (const target of targets) {
    const req = await requirementForMx(setting, policies, { domain, mxHost: target.mxHost, target });
    const plan = probe.plan(target, req);
    lines.push(...plan.lines);
    if (!plan.connectWith) continue;
    let opened;
    try {
      opened = await open(ctx, target, domain, plan.connectWith, true, policies);
    } catch (err) {
      lines.push(`Connection failed: ${(err as Error).message}`);
      continue;
    }
    lines.push(`Connected to ${target.host} from interface ${localAddressOf(opened)}.`);
    close(ctx.log, opened);
    const verdict = probe.judge(target, req, opened.observation!);
    lines.push(...verdict.lines);
    if (verdict.done) return true;
  }
  return false;
}
