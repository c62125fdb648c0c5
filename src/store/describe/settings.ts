import type { Step } from '../diff.js';
import type { Config } from '../schema.js';
import { type Section, sections } from './changes.js';
import { destinationText, interfaceText, listenerText, presentedText, profileText, userText } from './objects.js';
import { pathLabel, valueText } from './words.js';

/**
 * showconfig: the committed configuration as an administrator reads it, one line per object or
 * setting, grouped by the command that changes it and in the order a commit puts them in service.
 */
export function describeConfig(config: Config): Section[] {
  const lines: { key: string; line: string }[] = [];
  const add = (key: keyof Config, line: string) => lines.push({ key, line });
  for (const p of config.certificates) add('certificates', `certificate ${p.name}: ${profileText(p)}`);
  const { system, custom } = config.certificateAuthorities;
  add('certificateAuthorities', `system CA list: ${system.enabled ? 'enabled' : 'disabled'}, ${system.bundle ? `${system.bundle.count} certificates loaded from ${system.bundle.source}` : 'the Mozilla roots Node ships'}`);
  add('certificateAuthorities', `custom CA list: ${custom.enabled ? 'enabled' : 'disabled'}, ${custom.certificates.length} certificate${custom.certificates.length === 1 ? '' : 's'}`);
  add('acme', `ACME account: ${config.acme.account ? `${config.acme.account.email} at ${config.acme.account.directory}` : 'none'}`);
  leaves(config.acme, ['acme'], (line) => add('acme', line), ['account']);
  add('hostname', `host name: ${config.hostname}`);
  for (const i of config.interfaces) add('interfaces', `interface ${i.name}: ${interfaceText(config, i)}`);
  for (const l of config.listeners) add('listeners', `listener ${l.name}: ${listenerText(config, l)}`);
  add('listenerWorkers', `listener workers: ${config.listenerWorkers}`);
  leaves(config.tls, [], (line) => add('tls', line));
  for (const u of config.users) add('users', `account ${u.name}: ${userText(u)}`);
  leaves(config.ssh, ['ssh'], (line) => add('ssh', line));
  for (const p of config.bounceProfiles) {
    const warn = p.delayWarnings ? `delay warnings every ${p.delayWarnings.intervalSeconds} s, at most ${p.delayWarnings.maxWarnings}` : 'no delay warnings';
    add('bounceProfiles', `bounce profile ${p.name}: ${p.maxRetries} retries, ${p.maxQueueSeconds} s in queue at most, retry after ${p.retryInitialSeconds} s up to ${p.retryMaxSeconds} s, ${p.hardBounces ? 'hard bounce messages' : 'no hard bounce messages'}, ${warn}${p.alternateAddress ? `, to ${p.alternateAddress}` : ''}`);
  }
  const { keys } = config.bounceVerification;
  add('bounceVerification', `bounce verification: ${keys.length ? `${keys.length} tagging key${keys.length === 1 ? '' : 's'}, the newest ${keys.at(-1)!.name} tags` : 'no tagging keys (nothing is tagged)'}`);
  const d = config.delivery;
  add('delivery', `certificate for outbound TLS: ${presentedText(config, d.certificate)}`);
  leaves(d, [], (line) => add('delivery', line), ['certificate', 'defaults', 'destinations']);
  add('delivery', `default destination: ${destinationText(d.defaults)}`);
  for (const e of d.destinations) add('delivery', `destination ${e.domain}: ${destinationText(e)}`);
  for (const r of config.smtpRoutes) add('smtpRoutes', `SMTP route ${r.domain}: ${r.hosts.map((h) => `${h.host}:${h.port}`).join(', ')}`);
  add('dns', `DNS resolvers: ${config.dns.servers.length ? config.dns.servers.join(', ') : "the system's"}`);
  add('dns', `DNSSEC validation: ${config.dns.validation === 'builtin' ? 'built in' : 'by the resolver (its AD bit)'}, ${config.dns.trustAnchors.length} trust anchor line${config.dns.trustAnchors.length === 1 ? '' : 's'}`);
  for (const u of config.dns.updateServers) add('dns', `update server ${u.zone}: ${u.server}, TSIG key ${u.keyName}`);
  for (const r of config.alerts.recipients) add('alerts', `alert recipient ${r.email}: classes ${r.classes.join(', ')}, severities ${r.severities.join(', ')}`);
  leaves(config.alerts, ['alerts'], (line) => add('alerts', line), ['recipients']);
  leaves(config.tlsrpt, ['tlsrpt'], (line) => add('tlsrpt', line));
  leaves(config.logs, ['logs'], (line) => add('logs', line));
  for (const t of config.metrics.tokens) add('metrics', `metrics token ${t.id}: made ${t.created}`);
  add('metrics', `metrics readable without a token from: ${config.metrics.allow.length ? config.metrics.allow.join(', ') : 'no address'}`);
  leaves(config.queue, ['queue'], (line) => add('queue', line));
  return sections(lines);
}

/** "label: value" for each setting of a plain settings object. */
function leaves(obj: object, prefix: Step[], out: (line: string) => void, skip: string[] = []): void {
  for (const [k, v] of Object.entries(obj)) {
    if (skip.includes(k)) continue;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) leaves(v, [...prefix, k], out);
    else out(`${pathLabel([...prefix, k])}: ${valueText(k, v)}`);
  }
}
