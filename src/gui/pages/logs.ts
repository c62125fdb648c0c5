import { allFiles, LOG_NAMES, lastLines, logFiles } from '../../store/logFiles.js';
import { type GuiDeps, render, type Router } from '../gui.js';

const MAX_LINES = 500;

const TITLES: Record<string, string> = { mail_logs: 'Mail Log', cli_logs: 'SSH Log (logins, lock-outs, commits)', gui_logs: 'GUI Log (logins, lock-outs, commits)' };

/** A log (mail, SSH or GUI audit) with a filter: the newest lines (of all kept files) that contain the text, newest last. */
export function logRoutes(router: Router, deps: GuiDeps): void {
  router.get('/logs', async (page) => {
    const query = page.req.query as Record<string, unknown>;
    const filter = typeof query.filter === 'string' ? query.filter.slice(0, 200) : '';
    const name = typeof query.log === 'string' && LOG_NAMES.includes(query.log) ? query.log : 'mail_logs';
    const log = logFiles(deps.paths, name);
    const needle = filter.toLowerCase();
    let lines: string[] = [];
    // Newest file first, until enough lines match.
    for (const file of (await allFiles(log)).reverse()) {
      const found = (await lastLines(file, 50_000)).filter((l) => !needle || l.toLowerCase().includes(needle));
      lines = [...found, ...lines];
      if (lines.length >= MAX_LINES) break;
    }
    return render(page, 'logs', { title: TITLES[name] ?? name, log: name, logs: LOG_NAMES.map((n) => ({ name: n, title: TITLES[n] ?? n })), filter, lines: lines.slice(-MAX_LINES), max: MAX_LINES });
  });
}
