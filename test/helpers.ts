import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';

export const BIN = fileURLToPath(new URL('../bin/mxgate.js', import.meta.url));

/**
 * Tests never query the machine's resolver (it is not on loopback): engines they start resolve
 * through 127.0.0.1:1, where nothing answers, unless a test configures its own DNS server.
 */
// MXGATE_USER=root: started as root (CI), the engines of the tests stay root, because their data
// directories sit in root's private temporary directories; service.test.ts runs one as the service account.
export const TEST_ENV = { ...process.env, MXGATE_HOME: '', MXGATE_RESOLVERS: '127.0.0.1:1', MXGATE_USER: 'root' };

/**
 * The AsyncOS guide's factory defaults for the default destination entry (TLS No, DANE None, MTA-STS
 * off). A new appliance starts secure (Preferred / Opportunistic / on); files that check the guide's
 * behaviour relative to its factory defaults run this first, as an administrator who wants them would.
 */
export const GUIDE_DESTINATION_DEFAULTS = 'destconfig default --tls no --dane none --mta-sts no';

/** A fresh data directory (short path: unix socket paths are limited to 107 bytes). */
export async function tempHome(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'mxg-'));
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the real program (compiled, as users run it) with stdin from `input`. */
export function mxgate(home: string, args: string[], input = ''): Promise<Run> {
  return runProgram(process.execPath, [BIN, '--home', home, ...args], input, TEST_ENV);
}

/** Run any program with stdin from `input`; collect its output and exit status. */
export function runProgram(command: string, args: string[], input = '', env: NodeJS.ProcessEnv = TEST_ENV): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    // A program that exits before reading its input (ssh refusing a connection) closes the pipe: EPIPE is no failure of the test.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/** Run shell lines (as `-c` arguments) that must all succeed; returns the output. */
export async function shellOk(home: string, ...lines: string[]): Promise<string> {
  const run = await mxgate(home, lines.flatMap((l) => ['-c', l]));
  if (run.code !== 0) throw new Error(`mxgate ${lines.join(' | ')} exited ${run.code}:\n${run.stdout}${run.stderr}`);
  return run.stdout;
}

/** A shell kept open on a pipe, fed line by line. */
export class LiveShell {
  readonly child: ChildProcessWithoutNullStreams;
  output = '';
  private readonly closed: Promise<number | null>;

  /** `args`: e.g. --keep-going, for a piped session that plays an administrator who carries on after an error. */
  constructor(home: string, args: string[] = []) {
    this.child = spawn(process.execPath, [BIN, '--home', home, ...args], { env: TEST_ENV });
    this.child.stdout.on('data', (d: Buffer) => (this.output += d.toString()));
    this.child.stderr.on('data', (d: Buffer) => (this.output += d.toString()));
    this.closed = new Promise((resolve) => this.child.on('close', resolve));
  }

  send(line: string): void {
    this.child.stdin.write(line + '\n');
  }

  /** Wait until the output (from `from` on) matches. */
  async waitFor(pattern: RegExp, from = 0, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const m = pattern.exec(this.output.slice(from));
      if (m) return m[0];
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`timed out waiting for ${pattern}; output so far:\n${this.output}`);
  }

  async end(): Promise<number | null> {
    this.child.stdin.end();
    return this.closed;
  }
}

export async function stopEngine(home: string): Promise<void> {
  await mxgate(home, ['engine', 'stop']);
}

export async function cleanup(home: string | undefined): Promise<void> {
  // A `before` that failed leaves no home: its own error is the one to read.
  if (home === undefined) return;
  await stopEngine(home);
  await rm(home, { recursive: true, force: true });
}

/** A new appliance with one committed public listener, InboundMail, on a free port, accepting mail for example.net and example.com. */
export async function applianceWithListener(): Promise<{ home: string; port: number }> {
  const home = await tempHome();
  const port = await freePort();
  const run = await mxgate(home, [
    '-c', `listenerconfig new InboundMail --type public --interface Management --port ${port}`,
    '-c', 'listenerconfig edit InboundMail rcptaccess add example.net',
    '-c', 'listenerconfig edit InboundMail rcptaccess add example.com',
    // npm run test:workers: the same tests with sessions spread over the engine and listener workers.
    ...(process.env.MXGATE_TEST_WORKERS ? ['-c', `listenerconfig setup --workers ${process.env.MXGATE_TEST_WORKERS}`] : []),
    '-c', 'commit',
  ]);
  if (run.code !== 0) throw new Error(`setting up the appliance failed:\n${run.stdout}${run.stderr}`);
  return { home, port };
}

/**
 * Put the leaf of an openssl-made chain (with its intermediate) on the appliance as profile mx1,
 * assigned to InboundMail; `more` shell lines run before the commit.
 */
export async function useChainCertificate(home: string, chain: { leaf: string; leafKey: string; intermediate: string }, ...more: string[]): Promise<void> {
  const conf = (f: string) => path.join(home, 'configuration', f);
  await writeFile(conf('leaf.pem'), chain.leaf);
  await writeFile(conf('leaf.key'), chain.leafKey);
  await writeFile(conf('int.pem'), chain.intermediate);
  const lines = ['certconfig paste mx1 --cert leaf.pem --key leaf.key --intermediate int.pem', 'listenerconfig edit InboundMail certificate mx1', ...more, 'commit "certificate mx1"'];
  const run = await mxgate(home, lines.flatMap((l) => ['-c', l]));
  if (run.code !== 0) throw new Error(`installing the certificate failed:\n${run.stdout}${run.stderr}`);
}

const mailLog = (home: string) => path.join(home, 'logs', 'mail_logs', 'mail.current');

/** How far the mail log has come: pass it to waitForLog to look only at what is written after. */
export async function logMark(home: string): Promise<number> {
  return (await readFile(mailLog(home), 'utf8').catch(() => '')).length;
}

/** Wait until the mail log (from `from` on) has a line matching `pattern` (log lines follow socket events). */
export async function waitForLog(home: string, pattern: RegExp, timeoutMs = 5000, from = 0): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let log = '';
  while (Date.now() < deadline) {
    log = (await readFile(mailLog(home), 'utf8').catch(() => '')).slice(from);
    if (pattern.test(log)) return log;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the mail log has no line matching ${pattern}:\n${log.split('\n').slice(-20).join('\n')}`);
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function accepts(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function sendMail(port: number, subject = 'test message'): Promise<{ response: string; messageId: string }> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, name: 'client.test' });
  try {
    const info = await transport.sendMail({
      from: 'sender@example.com',
      to: ['rcpt1@example.net', 'rcpt2@example.net'],
      subject,
      text: 'Hello from the test suite.\n',
    });
    return { response: info.response, messageId: info.messageId };
  } finally {
    transport.close();
  }
}

/** Submit one message from sender@example.org to `to` (one address or several); returns its MID. */
export async function submitMail(port: number, to: string | string[], subject: string): Promise<number> {
  const t = nodemailer.createTransport({ host: '127.0.0.1', port, ignoreTLS: true });
  try {
    const info = await t.sendMail({ from: 'sender@example.org', to, subject, text: 'hello\n' });
    return Number(/MID (\d+)/.exec(info.response)![1]);
  } finally {
    t.close();
  }
}

/** Poll `probe` until it gives a value; on timeout the error shows the end of the mail log. */
export async function until<T>(home: string, what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  const log = await readFile(mailLog(home), 'utf8').catch(() => '');
  throw new Error(`timed out waiting for ${what}; mail log:\n${log.split('\n').slice(-25).join('\n')}`);
}

/**
 * A queued message as its file holds it (queue/<MID>.msg): the message's bytes, then its envelope
 * (JSON), then the trailer "mxgate-envelope <10-digit length of the envelope line>\n".
 */
type QueuedEnvelope = { from: string; to: string[]; size: number } & Record<string, any>;
export async function queuedMessage(home: string, mid: number | string): Promise<{ message: string; envelope: QueuedEnvelope }> {
  const file = await readFile(path.join(home, 'queue', `${mid}.msg`));
  const trailer = /mxgate-envelope (\d{10})\n$/.exec(file.subarray(-27).toString('latin1'));
  if (!trailer) throw new Error(`queue/${mid}.msg has no envelope trailer`);
  const start = file.length - 27 - Number(trailer[1]);
  const envelope = JSON.parse(file.subarray(start, file.length - 27).toString('utf8')) as QueuedEnvelope;
  if (envelope.size !== start) throw new Error(`queue/${mid}.msg: the envelope says ${envelope.size} bytes, the message has ${start}`);
  return { message: file.subarray(0, start).toString('utf8'), envelope };
}

/** Is a message in the queue (its file queue/<MID>.msg)? */
export async function isQueued(home: string, mid: number | string): Promise<boolean> {
  return (await readdir(path.join(home, 'queue'))).includes(`${mid}.msg`);
}

/** A queued message's envelope as it stands: rewritten by delivery (queue/<MID>.msg.json), else as received. */
export async function queuedEnvelope(home: string, mid: number | string): Promise<QueuedEnvelope> {
  const rewritten = await readFile(path.join(home, 'queue', `${mid}.msg.json`), 'utf8').catch(() => undefined);
  return rewritten ? (JSON.parse(rewritten) as QueuedEnvelope) : (await queuedMessage(home, mid)).envelope;
}
