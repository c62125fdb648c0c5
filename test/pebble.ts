import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './helpers.js';
import { tool } from './system-tools.js';

export interface Pebble {
  /** The ACME directory URL. */
  directory: string;
  /** The certificate Pebble's HTTPS presents (made for this run; goes into the appliance's custom CA list). */
  httpsCertificate: string;
  /** Where Pebble's VA looks for HTTP-01 answers on each name's address. */
  httpPort: number;
  /** Pebble's root of this run (its management interface /roots/0): what issued certificates chain to. */
  root(): Promise<string>;
  close(): Promise<void>;
}

function get(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: HTTP ${res.statusCode}`))));
      })
      .on('error', reject);
  });
}

/**
 * Pebble (Debian `pebble`), the ACME test CA, on loopback: its HTTPS certificate is made here for
 * 127.0.0.1 (Debian ships none), challenges are really checked (no PEBBLE_VA_ALWAYS_VALID) against
 * names resolved by `dnsServer` (HOST:PORT), HTTP-01 on `httpPort`. Authorizations are never reused,
 * so every order solves its challenges.
 */
export async function startPebble(options: { dnsServer: string; httpPort?: number }): Promise<Pebble> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mxg-pebble-'));
  const [port, managementPort, tlsPort] = [await freePort(), await freePort(), await freePort()];
  const httpPort = options.httpPort ?? (await freePort());
  execFileSync(tool('openssl'), ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=pebble.test', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  writeFileSync(
    path.join(dir, 'pebble.json'),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${port}`,
        managementListenAddress: `127.0.0.1:${managementPort}`,
        certificate: path.join(dir, 'cert.pem'),
        privateKey: path.join(dir, 'key.pem'),
        httpPort,
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  );
  const env = { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' };
  const child: ChildProcess = spawn(tool('pebble'), ['-config', path.join(dir, 'pebble.json'), '-dnsserver', options.dnsServer], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const httpsCertificate = readFileSync(path.join(dir, 'cert.pem'), 'utf8');
  const directory = `https://127.0.0.1:${port}/dir`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (await get(directory, httpsCertificate).then(() => true, () => false)) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`pebble did not start: ${output.trim().split('\n').slice(-5).join(' | ')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    directory,
    httpsCertificate,
    httpPort,
    root: () => get(`https://127.0.0.1:${managementPort}/roots/0`, httpsCertificate),
    async close() {
      // Killed by a signal, a child has signalCode set and exitCode null: either means it is gone.
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
