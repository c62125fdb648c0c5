import https from 'node:https';
import tls, { type PeerCertificate } from 'node:tls';
import { addressOf, type DnsClient } from '../dns/client.js';
import { parsePolicyText, StsFormatError, type StsPolicy } from './parse.js';

/** RFC 8460 result types for a policy that could not be had. */
export type StsFetchFailure = 'sts-policy-fetch-error' | 'sts-policy-invalid' | 'sts-webpki-invalid';

export class StsFetchError extends Error {
  override name = 'StsFetchError';
  constructor(
    readonly type: StsFetchFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface FetchOptions {
  dns: DnsClient;
  /** Trust anchors: the enabled CA lists (PEM). */
  trusted: string[];
  timeoutMs?: number;
  /** The HTTPS port; 443 except in tests of the fetch itself. */
  port?: number;
}

/** RFC 8461 §3.3: senders may refuse bodies larger than 64 KB. */
export const MAX_POLICY_BYTES = 64 * 1024;

/**
 * GET https://mta-sts.<domain>/.well-known/mta-sts.txt as RFC 8461 §3.3 asks: the host's address
 * from our DNS client, its certificate verified against the enabled CA lists for the DNS-ID
 * mta-sts.<domain>, no redirects, status 200 only, text/plain, at most 64 KB, within a total time.
 */
export async function fetchPolicy(domain: string, options: FetchOptions): Promise<StsPolicy> {
  const host = `mta-sts.${domain.toLowerCase()}`;
  if (options.trusted.length === 0) throw new StsFetchError('sts-webpki-invalid', 'no certificate authority list is enabled to verify the policy host');
  // The engine's DNS client, never the system resolver.
  const address = await addressOf(options.dns, host).catch((err: Error) => {
    throw new StsFetchError('sts-policy-fetch-error', err.message);
  });
  const text = await new Promise<string>((resolve, reject) => {
    const fail = (type: StsFetchFailure, message: string) => {
      req.destroy();
      reject(new StsFetchError(type, message));
    };
    const req = https.request(
      {
        host: address,
        port: options.port ?? 443,
        path: '/.well-known/mta-sts.txt',
        method: 'GET',
        headers: { Host: host, 'User-Agent': 'mxgate' },
        servername: host,
        ca: options.trusted,
        rejectUnauthorized: true,
        minVersion: 'TLSv1.2',
        agent: false,
        checkServerIdentity: (_name: string, cert: PeerCertificate) => tls.checkServerIdentity(host, cert),
      },
      (res) => {
        if (res.statusCode !== 200) {
          const where = res.headers.location ? ` (redirect to ${res.headers.location} not followed)` : '';
          return fail('sts-policy-fetch-error', `HTTP status ${res.statusCode}${where}`);
        }
        const type = (res.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        if (type !== 'text/plain') return fail('sts-policy-invalid', `Content-Type "${type || 'none'}" is not text/plain`);
        if (Number(res.headers['content-length'] ?? 0) > MAX_POLICY_BYTES) return fail('sts-policy-invalid', `the policy is larger than ${MAX_POLICY_BYTES} bytes`);
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_POLICY_BYTES) return fail('sts-policy-invalid', `the policy is larger than ${MAX_POLICY_BYTES} bytes`);
          chunks.push(chunk);
        });
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', (err) => fail('sts-policy-fetch-error', err.message));
      },
    );
    const timer = setTimeout(() => fail('sts-policy-fetch-error', `no complete answer within ${(options.timeoutMs ?? 15_000) / 1000} s`), options.timeoutMs ?? 15_000);
    req.on('close', () => clearTimeout(timer));
    req.on('error', (err: Error & { code?: string }) => {
      // Certificate problems (untrusted, expired, wrong name) are WebPKI failures; the rest is fetching.
      const webpki = /CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS_CERT_ALTNAME|HOSTNAME/.test(err.code ?? '');
      reject(new StsFetchError(webpki ? 'sts-webpki-invalid' : 'sts-policy-fetch-error', `${host} (${address}): ${err.message}`));
    });
    req.end();
  });
  try {
    return parsePolicyText(text);
  } catch (err) {
    if (err instanceof StsFormatError) throw new StsFetchError('sts-policy-invalid', err.message);
    throw err;
  }
}
