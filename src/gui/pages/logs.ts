import { allFiles, lastLines, logFiles } from '../../store/logFiles.js';
import { type GuiDeps, render, type Router } from '../gui.js';

const MAX_LINES = 500;

/** The mail log with a filter: the newest lines (of all kept files) that contain the text, newest last. */
export function logRoutes(router: Router, deps: GuiDeps): void {
  router.get('/logs', async (page) => {
    const query = page.req.query as Record<string, unknown>;
    const filter = typeof query.filter === 'string' ? query.filter.slice(0, 200) : '';
    const log = logFiles(deps.paths, 'mail_logs');
    const needle = filter.toLowerCase();
    let lines: string[] = [];
    // Newest file first, until enough lines match.
    for (const file of (await allFiles(log)).reverse()) {
      const found = (await lastLines(file, 50_000)).filter((l) => !needle || l.toLowerCase().includes(needle));
      lines = [...found, ...lines];
      if (lines.length >= MAX_LINES) break;
    }
    return render(page, 'logs', { title: 'Mail Log', filter, lines: lines.slice(-MAX_LINES), max: MAX_LINES });
  });
}
