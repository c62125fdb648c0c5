import { userInfo } from 'node:os';
import path from 'node:path';
import { notifySystemd } from './systemd.js';
import { AuditLog } from '../access/audit.js';
import { callerFor } from '../control/dispatch.js';
import { Engine } from '../engine/engine.js';
import type { FrontEndContext } from '../engine/frontEnds.js';
import { HttpsManager } from '../gui/manager.js';
import { GuiSessions } from '../gui/guiSessions.js';
import { GUI_PAGES } from '../gui/pages/index.js';
import { runShell } from '../shell/repl.js';
import { COMMANDS } from '../commands/index.js';
import { SshManager } from '../ssh/manager.js';
import type { DataPaths } from '../store/paths.js';

/**
 * The composition root: the mail engine, with the front-ends that reach administrators beside it.
 * The HTTPS interface and SSH get the engine's operation table (they act as their logged-in
 * account through it) and their own audit logs; SSH sessions get the shell, with its commands, handed in.
 */
export function buildAppliance(paths: DataPaths): Engine {
  return new Engine(paths, (context: FrontEndContext) => {
    const guiAudit = new AuditLog(path.join(paths.logs, 'gui_logs', 'gui.current'), 'GUI');
    const cliAudit = new AuditLog(path.join(paths.logs, 'cli_logs', 'cli.current'), 'SSH');
    guiAudit.observe = (level, text) => context.pushLog('gui_logs', level, text);
    cliAudit.observe = (level, text) => context.pushLog('cli_logs', level, text);
    return [
      new HttpsManager({ ...context, sessions: new GuiSessions(), audit: guiAudit }, GUI_PAGES, context.ticketKeys),
      new SshManager({
        paths,
        config: () => context.committed().config,
        callerFor: (principal) => callerFor(context.operations, principal),
        guard: context.guard,
        audit: cliAudit,
        runShell: (options) => runShell({ ...options, commands: COMMANDS }),
      }),
    ];
  });
}

/**
 * `mxgate engine run`: the appliance in the foreground until SIGTERM/SIGINT or a stop request.
 * Under systemd (Type=notify) it says when it is ready and when it stops. SIGHUP (systemctl reload)
 * re-reads nothing: the configuration changes only by commit; the mail log says so.
 */
export async function runEngine(paths: DataPaths): Promise<void> {
  const engine = buildAppliance(paths);
  await engine.start();
  const onSignal = () => {
    void notifySystemd({ STOPPING: '1' });
    void engine.stop();
  };
  const onHangUp = () => engine.hangUp();
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', onHangUp);
  process.stdout.write(`mxgate engine running for ${paths.home} (pid ${process.pid}${process.getuid?.() === 0 ? '' : `, user ${userInfo().username}`})\n`);
  const { configVersion, listeners } = engine.status();
  const notified = await notifySystemd({ READY: '1', STATUS: `configuration version ${configVersion}, ${listeners.length} listener(s)` });
  if (notified) process.stderr.write(`${new Date().toISOString()} mxgate engine: ${notified}\n`);
  await engine.stopped;
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  process.off('SIGHUP', onHangUp);
}
