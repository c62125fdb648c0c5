import { closeSync, constants, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { MAIL_LOG_LEVELS, type MailLogLevel } from '../../store/schema.js';
import { ctime } from './ctime.js';

export type LogLevel = 'Critical' | 'Warning' | 'Info' | 'Debug' | 'Trace';


const RANK: Record<LogLevel, number> = { Critical: 0, Warning: 1, Info: 2, Debug: 3, Trace: 4 };

export interface MailLogOptions {
  /** Rotate mail.current when it grows past this many bytes. */
  maxBytes?: number;
  /** Rotated files kept besides mail.current. */
  keep?: number;
}

/**
 * AsyncOS-style text mail log: `<ctime> Info: message` lines in logs/mail_logs/mail.current,
 * rotated by size into mail.@<timestamp>.s files. Lines are written synchronously so that the log
 * order is the event order and a crash loses nothing already reported.
 */
export class MailLog {
  private fd: number | undefined;
  private size = 0;
  private readonly maxBytes: number;
  private readonly keep: number;
  private threshold = RANK.Info;
  readonly file: string;

  constructor(
    private readonly dir: string,
    options: MailLogOptions = {},
  ) {
    this.maxBytes = options.maxBytes ?? 10 * 1024 * 1024;
    this.keep = options.keep ?? 10;
    this.file = path.join(dir, 'mail.current');
  }

  open(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // Never through a symbolic link someone planted where the log goes.
    try {
      this.fd = openSync(this.file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new Error(`${this.file} is a symbolic link; the mail log is never written through one (remove the link)`);
      throw err;
    }
    this.size = statSync(this.file).size;
  }

  /** The most detailed level written (logconfig mail_logs --level; lines above it are dropped). */
  setLevel(level: MailLogLevel): void {
    this.threshold = MAIL_LOG_LEVELS.indexOf(level);
  }

  /** Whether lines of this level are written: callers skip building costly Debug text otherwise. */
  enabled(level: LogLevel): boolean {
    return RANK[level] <= this.threshold;
  }

  debug(message: string): void {
    this.write('Debug', message);
  }

  info(message: string): void {
    this.write('Info', message);
  }

  warning(message: string): void {
    this.write('Warning', message);
  }

  critical(message: string): void {
    this.write('Critical', message);
  }

  write(level: LogLevel, message: string): void {
    if (this.fd === undefined || RANK[level] > this.threshold) return;
    const line = `${ctime()} ${level}: ${message.replace(/[\r\n]+/g, ' ')}\n`;
    this.size += writeSync(this.fd, line);
    if (this.size >= this.maxBytes) this.rotate();
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private rotate(): void {
    this.close();
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '');
    renameSync(this.file, path.join(this.dir, `mail.@${stamp}.${process.hrtime.bigint()}.s`));
    const old = readdirSync(this.dir).filter((n) => n.startsWith('mail.@')).sort();
    for (const n of old.slice(0, Math.max(0, old.length - this.keep))) unlinkSync(path.join(this.dir, n));
    this.open();
  }
}
