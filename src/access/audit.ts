import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { ctime } from '../store/dates.js';
import { escapeControls } from '../store/text.js';

/**
 * An access audit log: every login, failed login, lock-out, logout and commit, with account and
 * address. The GUI writes logs/gui_logs/gui.current, SSH logs/cli_logs/cli.current. Appended
 * line by line; a write that fails is reported on stderr and never stops a login.
 */
export class AuditLog {
  constructor(
    readonly file: string,
    private readonly what: string,
  ) {}

  /** Told every line (the syslog push). */
  observe: ((level: 'Info' | 'Warning', text: string) => void) | undefined;

  write(level: 'Info' | 'Warning', text: string): void {
    this.observe?.(level, escapeControls(text));
    try {
      mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      appendFileSync(this.file, `${ctime()} ${level}: ${escapeControls(text)}\n`, { mode: 0o600 });
    } catch (err) {
      process.stderr.write(`${new Date().toISOString()} mxgate engine: the ${this.what} audit log cannot be written: ${(err as Error).message}\n`);
    }
  }
}
