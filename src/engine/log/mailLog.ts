import { closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { MAIL_LOG_LEVELS, type MailLogLevel } from '../../store/schema.js';
import { escapeControls } from '../../store/text.js';
import { ctime } from '../../store/dates.js';

export type LogLevel = 'Critical' | 'Warning' | 'Info' | 'Debug' | 'Trace';


const RANK: Record<LogLevel, number> = { Critical: 0, Warning: 1, Info: 2, Debug: 3, Trace: 4 };

export interface MailLogOptions {
  /** Rotate mail.current when it grows past this many bytes. */
  maxBytes?: number;
  /** Rotated files kept besides mail.current. */
  keep?: number;
  /** Rotate mail.current when it is this many hours old (0: by size only). */
  rotateHours?: number;
}

/** Lines kept in memory while the log cannot be written (a full disk), written when it can again. */
const PENDING_LIMIT = 10_000;
/** The longest mail log line, in characters; the rest of a longer one is counted, not written. */
const MAX_LINE_CHARS = 2_000;

/**
 * AsyncOS-style text mail log: `<ctime> Info: message` lines in logs/mail_logs/mail.current,
 * rotated by size into mail.@<timestamp>.s files. Lines are buffered for one turn of the event loop
 * and written in order in one write; writing never throws into the SMTP or delivery paths.
 */
export class MailLog {
  private fd: number | undefined;
  private size = 0;
  private maxBytes: number;
  private keep: number;
  private rotateHours: number;
  /** When mail.current was started (for rotation by time). */
  private startedAt = Date.now();
  private threshold = RANK.Info;
  /** Lines not yet written because writing failed, oldest first (bounded). */
  private pending: string[] = [];
  private dropped = 0;
  /** Why the log cannot be written, since when; undefined while it can. */
  private trouble: { since: string; error: string } | undefined;
  private retry: NodeJS.Timeout | undefined;
  private scheduled = false;
  /** Told once when writing starts to fail, and once when it works again (engine.log, status, alert). */
  onTrouble: (state: { since: string; error: string } | undefined) => void = () => undefined;
  /** Told every line the level lets through, as written (the syslog push). */
  observe: ((level: LogLevel, text: string) => void) | undefined;
  readonly file: string;

  constructor(
    private readonly dir: string,
    options: MailLogOptions = {},
  ) {
    this.maxBytes = options.maxBytes ?? 10 * 1024 * 1024;
    this.keep = options.keep ?? 10;
    this.rotateHours = options.rotateHours ?? 0;
    this.file = path.join(dir, 'mail.current');
  }

  /** logconfig mail_logs: level and rollover (applied at start and on commit). */
  configure(settings: { mailLevel: MailLogLevel; rotateBytes: number; rotateHours: number; keep: number }): void {
    this.setLevel(settings.mailLevel);
    this.maxBytes = settings.rotateBytes;
    this.rotateHours = settings.rotateHours;
    this.keep = settings.keep;
  }

  /** Rotate when mail.current is older than the rollover time (called every minute). */
  rotateIfDue(now = Date.now()): void {
    if (this.fd !== undefined && this.rotateHours > 0 && this.size > 0 && now - this.startedAt >= this.rotateHours * 3_600_000) this.rotate();
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
    const st = statSync(this.file);
    this.size = st.size;
    this.startedAt = st.size > 0 ? st.birthtimeMs || st.ctimeMs : Date.now();
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

  /** Writing works (false while a full disk or an I/O error keeps lines in memory). */
  get healthy(): boolean {
    return this.trouble === undefined;
  }

  get problem(): { since: string; error: string } | undefined {
    return this.trouble;
  }

  /**
   * Never throws into the SMTP or delivery paths: a line that cannot be written (ENOSPC, EIO) is
   * kept in memory (the oldest dropped past PENDING_LIMIT, and counted) and written, in order, with
   * the next line once writing works again.
   */
  write(level: LogLevel, message: string): void {
    if (this.fd === undefined || RANK[level] > this.threshold) return;
    // Control characters (terminal escapes from a client or a comment) are shown, never passed on;
    // what a remote party chose (a policy's MX list, a certificate's names) cannot make a line huge.
    const clean = escapeControls(message.replace(/[\r\n]+/g, ' '));
    const cut = clean.length > MAX_LINE_CHARS ? `${clean.slice(0, MAX_LINE_CHARS)}… (${clean.length - MAX_LINE_CHARS} more characters not logged)` : clean;
    this.pending.push(`${ctime()} ${level}: ${cut}\n`);
    this.observe?.(level, cut);
    if (this.pending.length > PENDING_LIMIT) {
      this.pending.shift();
      this.dropped += 1;
    }
    // Buffered: the lines of one turn of the event loop go out in one write, right after it.
    // Critical lines (the engine may be about to fail) and a large backlog go at once.
    if (level === 'Critical' || this.pending.length >= 256) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }

  /** Write what is pending; on failure keep it, and say so once. */
  flush(): void {
    if (this.fd === undefined || this.pending.length === 0) return;
    try {
      if (this.dropped) {
        const note = `${ctime()} Warning: ${this.dropped} mail log line(s) were lost while the log could not be written\n`;
        this.size += writeSync(this.fd, note);
        this.dropped = 0;
      }
      const data = Buffer.from(this.pending.join(''));
      let written = 0;
      // A short write (nearly full disk) is continued at once; a failure keeps the lines pending.
      while (written < data.length) written += writeSync(this.fd, data.subarray(written));
      this.pending = [];
      this.size += written;
      if (this.trouble) {
        this.trouble = undefined;
        clearInterval(this.retry);
        this.retry = undefined;
        this.onTrouble(undefined);
      }
      if (this.size >= this.maxBytes) this.rotate();
    } catch (err) {
      if (!this.trouble) {
        this.trouble = { since: new Date().toISOString(), error: (err as Error).message };
        // Retried every few seconds even when nothing else is logged, so the state clears by itself.
        this.retry = setInterval(() => this.flush(), 2000).unref();
        this.onTrouble(this.trouble);
      }
    }
  }

  close(): void {
    this.flush();
    clearInterval(this.retry);
    this.retry = undefined;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private rotate(): void {
    try {
      // The appliance's names: mail.@<start of the file>.s (yyyymmddThhmmss), a suffix when taken.
      const stamp = new Date(this.startedAt).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '');
      let name = `mail.@${stamp}.s`;
      for (let n = 1; existsSync(path.join(this.dir, name)); n += 1) name = `mail.@${stamp}.${n}.s`;
      renameSync(this.file, path.join(this.dir, name));
      // Until the new file is open, lines keep going to the renamed one: nothing is lost.
      const fd = openSync(this.file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
      if (this.fd !== undefined) closeSync(this.fd);
      this.fd = fd;
      this.size = 0;
      this.startedAt = Date.now();
      const old = readdirSync(this.dir).filter((n) => n.startsWith('mail.@')).sort();
      for (const n of old.slice(0, Math.max(0, old.length - this.keep))) unlinkSync(path.join(this.dir, n));
    } catch {
      // Rotation is retried at the next line; the log goes on in the file that is open.
    }
  }
}
