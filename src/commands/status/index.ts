import { ctime, shellTime } from '../../store/dates.js';
import type { Command } from '../../shell/command.js';
import { CommandError } from '../../shell/errors.js';
import { VERSION } from '../../version.js';
import { clusterMemberRows } from '../clusterChanges.js';

function duration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return `${d}d ${h}h ${m}m ${seconds % 60}s`;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export const status: Command = {
  name: 'status',
  summary: 'Engine state, version, uptime, listeners and queue size',
  usage: ['status'],
  maxWords: 0,
  needsConfig: false,
  async run(session) {
    const io = session.io;
    io.print(`Status as of:      ${ctime()}`);
    // Where the appliance keeps its files is the machine's business, not an SSH account's.
    if (!session.account) io.print(`Data directory:    ${session.paths.home}`);
    const s = await session.engineStatus();
    if (!s) {
      io.print('Engine:            down');
      throw new CommandError('The engine is not running. Start it with "mxgate engine start".');
    }
    io.print(`Engine:            up (pid ${s.pid}${s.account ? `, account ${s.account}` : ''}), mxgate ${s.version}${s.version !== VERSION ? ` (shell ${VERSION})` : ''}`);
    io.print(`Up since:          ${ctime(new Date(s.startedAt))} (uptime ${duration(s.uptimeSeconds)})`);
    io.print(`Host name:         ${s.hostname}`);
    io.print(`Configuration:     version ${s.configVersion}${session.hasChanges() ? ' (this session has uncommitted changes)' : ''}`);
    if (s.confirmation) {
      const c = s.confirmation;
      io.warn(`version ${c.version} (commit confirmed by ${c.user}) goes back to version ${c.previous} at ${shellTime(c.deadline)} unless "commit confirm" comes first`);
    }
    io.print(`Queue:             ${s.queue.messages} message(s), ${bytes(s.queue.bytes)}`);
    io.print(`Delivery:          ${s.delivery.active} message(s) being delivered, ${s.delivery.idleConnections} idle connection(s) kept for reuse`);
    for (const d of s.delivery.down) {
      // A wait that is over is not a time to show: the destination is being probed, or will be by its next message.
      const when = d.probing ? 'being probed now' : Date.parse(d.until) > Date.now() ? `until ${shellTime(d.until)}` : 'its wait is over; the next delivery probes it';
      io.print(`Destination down:  ${d.domain} ${when} (${d.reason}); "deliverynow ${d.domain}" tries it at once`);
    }
    io.print(`Storage:           ${s.storage.freeMb < 0 ? 'free space unknown' : `${s.storage.freeMb} MB free`}, reserve ${s.storage.reserveMb} MB: ${s.storage.accepting ? 'accepting mail' : 'NOT ACCEPTING new mail (452 4.3.1) until space is freed'}`);
    io.print(`Mail log:          ${s.storage.mailLog}`);
    for (const p of s.logPush ?? []) {
      const how = p.connected ? 'sending' : `NOT REACHABLE (${p.problem ?? 'connecting'}), ${p.waiting} line(s) waiting`;
      io.print(`Syslog push:       ${p.log} to ${p.url}: ${how}${p.dropped ? `; ${p.dropped} line(s) dropped since the engine started` : ''}`);
    }
    if (s.cluster) {
      const c = s.cluster;
      io.print(`Cluster:           ${c.name}, this machine ${c.machine}, cluster version ${c.version}${c.applied === c.version ? ' applied' : `, running version ${c.applied || 'of before'}`}`);
      if (c.problem) io.warn(`cluster: ${c.problem}`);
      const members = await session.call('cluster-list', {}).catch(() => undefined);
      if (members) io.print('Cluster members:', ...clusterMemberRows(members).map((l) => `  ${l}`));
    }
    for (const p of s.dnsProblems ?? []) io.warn(`DNS: ${p}`);
    if (s.startupProblem) {
      io.warn(`the committed configuration could not be applied when the engine started: ${s.startupProblem}`);
      io.print('         Listeners that could not start are not running; fix the configuration and commit.');
    }
    if (s.listeners.length === 0) {
      io.print('Listeners:         none');
    } else {
      io.print('Listeners:');
      for (const l of s.listeners) {
        io.print(`  ${l.name} (${l.type === 'public' ? 'Public' : 'Private'}) on ${l.interface} ${l.ip} port ${l.port}: listening, ${l.connections} connection(s)`);
      }
    }
    const workers = s.workers ?? [];
    io.print(`Listener workers:  ${workers.length ? workers.map((w) => `pid ${w.pid} (${w.connections} connection(s))`).join(', ') : 'none; the engine serves every session'}`);
    for (const h of s.https) {
      const url = `https://${h.ip.includes(':') ? `[${h.ip}]` : h.ip}:${h.port}/`;
      io.print(`HTTPS (GUI):       ${h.interface} ${url} with certificate ${h.certificate}${h.httpRedirect ? `; HTTP port ${h.httpRedirect} redirects to it` : ''}${h.metrics ? `; Prometheus metrics at ${url}metrics` : ''}`);
    }
    for (const h of s.ssh ?? []) {
      const who = h.sessions.map((x) => `${x.account} from ${x.address}`);
      io.print(`SSH:               ${h.interface} ${h.ip} port ${h.port}: ${who.length ? `${who.length} logged in (${who.join(', ')})` : 'nobody logged in'}`);
    }
    for (const l of s.lockouts) io.print(`Locked out:        ${l.account} from ${l.addresses.join(', ')} after failed logins; "userconfig unlock ${l.account}" lifts it`);
  },
};
