import https from 'node:https';
import tls from 'node:tls';
import type { OpensslChain } from './pki-fixtures.js';

/** What the policy host answers for one domain. */
export interface PolicyAnswer {
  body: string;
  status?: number;
  contentType?: string;
  headers?: Record<string, string>;
  /** Present this certificate instead of one for mta-sts.<domain> (a wrong name, another CA). */
  cert?: { cert: string; key: string };
}

/**
 * The HTTPS policy host of MTA-STS for any number of test domains on one loopback address: the
 * certificate for mta-sts.<domain> (from the test chain, made on first use) is chosen by SNI, the
 * answer by the Host header. `fetches` counts the requests per domain.
 */
export async function stsPolicyHost(chain: OpensslChain, host: string, port = 443): Promise<{ policies: Map<string, PolicyAnswer>; fetches: Map<string, number>; port: number; close(): Promise<void> }> {
  const policies = new Map<string, PolicyAnswer>();
  const fetches = new Map<string, number>();
  const contexts = new Map<string, tls.SecureContext>();
  const contextFor = (servername: string) => {
    const domain = servername.replace(/^mta-sts\./, '');
    const custom = policies.get(domain)?.cert;
    const key = custom ? `custom:${servername}:${custom.cert.length}` : servername;
    let ctx = contexts.get(key);
    if (!ctx) {
      const pair = custom ?? chain.issueWithKey(servername, [servername]);
      ctx = tls.createSecureContext({ key: pair.key, cert: pair.cert + chain.intermediate });
      contexts.set(key, ctx);
    }
    return ctx;
  };
  const fallback = chain.issueWithKey('sts-host.invalid', ['sts-host.invalid']);
  const server = https.createServer({ key: fallback.key, cert: fallback.cert, SNICallback: (name, cb) => cb(null, contextFor(name)) }, (req, res) => {
    const domain = (req.headers.host ?? '').replace(/:\d+$/, '').replace(/^mta-sts\./, '');
    fetches.set(domain, (fetches.get(domain) ?? 0) + 1);
    const answer = policies.get(domain);
    if (!answer || req.url !== '/.well-known/mta-sts.txt') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(answer.status ?? 200, { 'Content-Type': answer.contentType ?? 'text/plain', ...(answer.headers ?? {}) }).end(answer.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as { port: number };
  return { policies, fetches, port: address.port, close: () => new Promise((r) => server.close(() => r())) };
}

export const enforcePolicy = (mx: string[], maxAge = 86400, mode = 'enforce') => `version: STSv1\r\nmode: ${mode}\r\n${mx.map((m) => `mx: ${m}\r\n`).join('')}max_age: ${maxAge}\r\n`;
