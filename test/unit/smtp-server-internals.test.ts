import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { SMTPServerOptions } from 'smtp-server';
import {
  acceptPaused,
  closeSessions,
  createSmtpServer,
  later,
  serverName,
  sessionCount,
  type SessionHooks,
  sessionHooks,
  setServerOptions,
  type SmtpServer,
} from '../../src/engine/listener/smtpServerAdapter.js';
import { feedDataStream } from '../../src/engine/listener/dataTerminator.js';
import { SmtpProbe } from '../smtp-probe.js';

/**
 * One test per hook of the smtp-server adapter (src/engine/listener/smtpServerAdapter.ts), each on
 * a real smtp-server on loopback with a raw client: an smtp-server upgrade that changes an internal
 * a hook relies on fails the test of that hook.
 */

const dir = mkdtempSync(path.join(os.tmpdir(), 'mxg-smtpd-'));
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2', '-subj', '/CN=mx.test'], { cwd: dir, stdio: 'ignore' });
const key = readFileSync(path.join(dir, 'key.pem'), 'utf8');
const cert = readFileSync(path.join(dir, 'cert.pem'), 'utf8');

const servers: SmtpServer[] = [];
after(() => {
  for (const s of servers) s.close(() => undefined);
});

const base: SMTPServerOptions = { name: 'mx.test', banner: 'test', authOptional: true, disabledCommands: ['AUTH'], logger: false, disableReverseLookup: true, key, cert, size: 1000 };

async function serve(options: SMTPServerOptions, setup?: (server: SmtpServer) => void): Promise<{ server: SmtpServer; port: number }> {
  const server = createSmtpServer({ ...base, ...options });
  server.on('error', () => undefined);
  setup?.(server);
  servers.push(server);
  await new Promise<void>((resolve) => server.server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.server.address() as net.AddressInfo).port };
}

/** A server that hands each new session's hooks to `use` from onConnect, as the listener does. */
async function withHooks(use: (hooks: SessionHooks) => void, options: SMTPServerOptions = {}): Promise<number> {
  let server: SmtpServer | undefined;
  const made = await serve({
    ...options,
    onConnect: (session, cb) => {
      const hooks = sessionHooks(server!, session);
      assert.ok(hooks, 'the session is found among the server\'s connections');
      use(hooks);
      cb();
    },
  });
  server = made.server;
  return made.port;
}

test('createSmtpServer: greets without smtp-server\'s pause, and still refuses past maxClients', async () => {
  const { port } = await serve({ maxClients: 1 });
  const first = await SmtpProbe.connect(port);
  assert.match(first.greeting, /^220 mx\.test ESMTP test/);
  assert.match(await first.probe.send('EHLO client.test'), /^250-mx\.test/);
  const second = await SmtpProbe.connect(port);
  assert.match(second.greeting, /^421 mx\.test Too many connected clients/);
  first.probe.close();
  second.probe.close();
});

test('setServerOptions: a new session sees the new name and SIZE', async () => {
  const { server, port } = await serve({});
  setServerOptions(server, { name: 'renamed.test', maxClients: 10, size: 4242 });
  assert.equal(serverName(server), 'renamed.test');
  const { probe, greeting } = await SmtpProbe.connect(port);
  assert.match(greeting, /^220 renamed\.test /);
  assert.match(await probe.send('EHLO client.test'), /250[- ]SIZE 4242/);
  probe.close();
});

test('sessionCount and closeSessions: open sessions are counted, and told and closed', async () => {
  const { server, port } = await serve({});
  const a = await SmtpProbe.connect(port);
  const b = await SmtpProbe.connect(port);
  assert.equal(sessionCount(server), 2);
  const said = Promise.all([a.probe.reply(), b.probe.reply()]);
  assert.equal(closeSessions(server, 421, 'Server shutting down'), 2);
  assert.deepEqual(await said, ['421 Server shutting down', '421 Server shutting down']);
});

test('acceptPaused: a socket taken by the hand-off is not served here; one left is', async () => {
  let offered = 0;
  const { port } = await serve({}, (server) =>
    acceptPaused(server, (socket) => {
      offered += 1;
      if (offered > 1) return false;
      socket.end('421 taken elsewhere\r\n');
      return true;
    }),
  );
  const taken = await SmtpProbe.connect(port);
  assert.equal(taken.greeting, '421 taken elsewhere');
  const served = await SmtpProbe.connect(port);
  assert.match(served.greeting, /^220 mx\.test/);
  served.probe.close();
});

test('later: three pipelined transactions in one write, with handlers that call back at once, are all answered', async () => {
  const { port } = await serve({
    onMailFrom: (_a, _s, cb) => later(cb)(),
    onRcptTo: (_a, _s, cb) => later(cb)(),
    onData: (stream, _s, cb) => {
      stream.resume();
      stream.on('end', () => cb());
    },
  });
  const { probe } = await SmtpProbe.connect(port);
  await probe.send('EHLO client.test');
  const one = 'MAIL FROM:<a@client.test>\r\nRCPT TO:<b@mx.test>\r\nDATA\r\n';
  probe.write(one);
  for (let i = 0; i < 3; i++) await probe.reply();
  probe.write(`x\r\n.\r\n${one}x\r\n.\r\n${one}x\r\n.\r\n`);
  const replies: string[] = [];
  for (let i = 0; i < 9; i++) replies.push(await probe.reply());
  assert.deepEqual(replies.map((r) => r.slice(0, 3)), ['250', '250', '250', '354', '250', '250', '250', '354', '250']);
  probe.close();
});

test('createSmtpServer: the DATA scan is dataTerminator\'s, in the plaintext session and after STARTTLS', async () => {
  const messages: string[] = [];
  const { server, port } = await serve({
    onMailFrom: (_a, _s, cb) => later(cb)(),
    onRcptTo: (_a, _s, cb) => later(cb)(),
    onData: (stream, _s, cb) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => (messages.push(Buffer.concat(chunks).toString()), cb()));
    },
  });
  const scan = () => [...(server as unknown as { connections: Set<{ _parser: { _feedDataStream: unknown } }> }).connections].map((c) => c._parser._feedDataStream);
  const { probe } = await SmtpProbe.connect(port);
  const send = async () => {
    await probe.send('EHLO client.test');
    await probe.send('MAIL FROM:<a@client.test>');
    await probe.send('RCPT TO:<b@mx.test>');
    assert.match(await probe.send('DATA'), /^354/);
    assert.match(await probe.send('one\r\n..two\r\n.'), /^250/);
  };
  await send();
  assert.deepEqual(scan(), [feedDataStream]);
  assert.match(await probe.send('STARTTLS'), /^220/);
  await probe.upgrade({ rejectUnauthorized: false });
  await send();
  assert.deepEqual(scan(), [feedDataStream], 'the parser made for the TLS socket too');
  assert.deepEqual(messages, ['one\r\n.two\r\n', 'one\r\n.two\r\n']);
  probe.close();
});

test('sessionOptions and rewriteReplies: this session\'s SIZE, and the 552 for SIZE= rewritten', async () => {
  const port = await withHooks((hooks) => {
    hooks.sessionOptions({ size: 100, hideREQUIRETLS: false });
    hooks.rewriteReplies((code, text) => (code === 552 ? `5.3.4 ${text}` : text));
  });
  const { probe } = await SmtpProbe.connect(port);
  assert.match(await probe.send('EHLO client.test'), /250[- ]SIZE 100\b/);
  assert.match(await probe.send('MAIL FROM:<a@client.test> SIZE=500'), /^552 5\.3\.4 /);
  probe.close();
});

test('sessionOptions: REQUIRETLS is offered after STARTTLS, and hidden on a session that hides it', async () => {
  for (const hide of [false, true]) {
    const port = await withHooks((hooks) => hooks.sessionOptions({ size: 1000, hideREQUIRETLS: hide }));
    const { probe } = await SmtpProbe.connect(port);
    assert.doesNotMatch(await probe.send('EHLO client.test'), /REQUIRETLS/, 'never before STARTTLS');
    assert.match(await probe.send('STARTTLS'), /^220/);
    await probe.upgrade({ rejectUnauthorized: false });
    const ehlo = await probe.send('EHLO client.test');
    if (hide) assert.doesNotMatch(ehlo, /REQUIRETLS/);
    else assert.match(ehlo, /250[- ]REQUIRETLS\b/);
    probe.close();
  }
});

test('afterReply, beforeCommand and inData: replies and command lines are seen; DATA mode is known', async () => {
  const seen: string[] = [];
  let hooks: SessionHooks | undefined;
  const port = await withHooks(
    (h) => {
      hooks = h;
      h.afterReply((code) => seen.push(`reply ${code} ${h.inData() ? 'data' : 'command'}`));
      h.beforeCommand(() => seen.push('command'));
    },
    { onData: (stream, _s, cb) => (stream.resume(), stream.on('end', () => cb())) },
  );
  const { probe } = await SmtpProbe.connect(port);
  await probe.send('EHLO client.test');
  await probe.send('MAIL FROM:<a@client.test>');
  await probe.send('RCPT TO:<b@mx.test>');
  assert.match(await probe.send('DATA'), /^354/);
  assert.equal(hooks!.inData(), true);
  assert.match(await probe.send('x\r\n.'), /^250/);
  assert.equal(hooks!.inData(), false);
  // The greeting is sent after onConnect, so the hooks see it too.
  assert.deepEqual(seen.slice(0, 9), ['reply 220 command', 'command', 'reply 250 command', 'command', 'reply 250 command', 'command', 'reply 250 command', 'command', 'reply 354 data']);
  probe.close();
});

test('refuseUntilTls, secure and reply: 530 before STARTTLS, answered after it', async () => {
  let hooks: SessionHooks | undefined;
  const port = await withHooks((h) => {
    hooks = h;
    h.refuseUntilTls(new Set(['NOOP', 'EHLO', 'STARTTLS', 'QUIT']), 530, '5.7.0 Must issue a STARTTLS command first');
  });
  const { probe } = await SmtpProbe.connect(port);
  await probe.send('EHLO client.test');
  assert.equal(await probe.send('MAIL FROM:<a@client.test>'), '530 5.7.0 Must issue a STARTTLS command first');
  assert.match(await probe.send('NOOP'), /^250/);
  assert.equal(hooks!.secure(), false);
  assert.match(await probe.send('STARTTLS'), /^220/);
  await probe.upgrade({ rejectUnauthorized: false });
  assert.match(await probe.send('EHLO client.test'), /^250/);
  assert.equal(hooks!.secure(), true);
  assert.match(await probe.send('MAIL FROM:<a@client.test>'), /^250/);
  const closing = probe.reply();
  hooks!.reply(421, '4.4.2 bye');
  assert.equal(await closing, '421 4.4.2 bye');
  probe.close();
});

test('onTlsFailure: a handshake that fails after STARTTLS is reported', async () => {
  let failed: (err: Error) => void = () => undefined;
  const reported = new Promise<Error>((resolve) => (failed = resolve));
  const port = await withHooks((h) => h.onTlsFailure(failed));
  const { probe } = await SmtpProbe.connect(port);
  await probe.send('EHLO client.test');
  assert.match(await probe.send('STARTTLS'), /^220/);
  probe.write('this is not a TLS client hello\r\n\r\n');
  assert.ok((await reported) instanceof Error);
  probe.close();
});

test('createSmtpServer: STARTTLS with a server name (SNI) keeps the listener\'s certificate; the SNI callback hands back no second context', async () => {
  const answers: unknown[] = [];
  const { port } = await serve({}, (server) => {
    // smtp-server's SNI callback for the sockets it makes, as overridden by createSmtpServer.
    const s = server as unknown as { _resolveSNI(name: string, cb: (err: Error | null, ctx: unknown) => void): void };
    const resolve = s._resolveSNI.bind(s);
    s._resolveSNI = (name, cb) => resolve(name, (err, ctx) => (answers.push(ctx), cb(err, ctx)));
  });
  for (const servername of ['mx.test', 'another.name.example', 'xn--bcher-kva.example']) {
    const { probe } = await SmtpProbe.connect(port);
    await probe.send('EHLO client.test');
    assert.match(await probe.send('STARTTLS'), /^220/);
    const secure = await probe.upgrade({ rejectUnauthorized: false, servername });
    assert.equal(secure.getPeerX509Certificate()?.subject, 'CN=mx.test');
    assert.match(await probe.send('EHLO client.test'), /^250/);
    probe.close();
  }
  assert.deepEqual(answers, [null, null, null], 'called once per handshake, with no context to switch to');
});

test('session ids come from a counter of the server, not from 10 random bytes per connection; each session has its own', async () => {
  const ids: string[] = [];
  const { port } = await serve({
    onConnect: (session, cb) => {
      ids.push(session.id);
      cb();
    },
  });
  const drawn = { n: 0 };
  const randomBytes = crypto.randomBytes;
  crypto.randomBytes = ((...args: Parameters<typeof randomBytes>) => ((drawn.n += 1), randomBytes(...args))) as typeof randomBytes;
  try {
    for (let i = 0; i < 3; i += 1) {
      const { probe } = await SmtpProbe.connect(port);
      assert.match(await probe.send('EHLO client.test'), /^250/);
      probe.close();
    }
  } finally {
    crypto.randomBytes = randomBytes;
  }
  assert.equal(new Set(ids).size, 3, `three sessions, three ids: ${ids.join(' ')}`);
  assert.equal(drawn.n, 0, 'no random bytes drawn for session ids');
});

test('sessionHooks finds a session\'s connection without going through every open connection', async () => {
  const { server, port } = await serve({
    onConnect: (session, cb) => {
      // An smtp-server connection set that refuses to be walked: the lookup must not need it.
      const connections = (server as unknown as { connections: Set<unknown> }).connections;
      const walk = connections[Symbol.iterator];
      connections[Symbol.iterator] = () => {
        throw new Error('every open connection was walked');
      };
      try {
        const hooks = sessionHooks(server, session);
        cb(hooks ? null : new Error('no hooks'));
      } catch (err) {
        cb(err as Error);
      } finally {
        connections[Symbol.iterator] = walk;
      }
    },
  });
  const greeting = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('data', (d) => {
      resolve(d.toString());
      socket.destroy();
    });
    socket.once('error', reject);
  });
  assert.match(greeting, /^220 /);
});
