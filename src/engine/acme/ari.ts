import https from 'node:https';
import { x509 } from '../../pki/provider.js';

/**
 * ACME Renewal Information (RFC 9773): the CA says when to renew a certificate (a window), e.g.
 * earlier than usual when it is going to revoke it. Asked with a plain GET of
 * <renewalInfo>/<certID>, where the CA's directory offers renewalInfo; acme-client does not know it.
 */

export interface RenewalWindow {
  start: string;
  end: string;
  /** When to ask again (the answer's Retry-After, within an hour and a day). */
  retryAfterSeconds: number;
  explanationURL?: string;
}

const DEFAULT_RETRY_SECONDS = 6 * 3600;
const TIMEOUT_MS = 15_000;
const MAX_BODY = 64 * 1024;

/** The certificate's ARI identifier: base64url(AKI keyIdentifier) "." base64url(serial's DER content), unpadded; none without an AKI. */
export function ariCertId(certificatePem: string): string | undefined {
  const cert = new x509.X509Certificate(certificatePem);
  const keyId = cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId;
  if (!keyId) return undefined;
  let serial = Buffer.from(cert.serialNumber.length % 2 ? `0${cert.serialNumber}` : cert.serialNumber, 'hex');
  // The library gives the serial without its sign byte; DER keeps a 00 before a high bit.
  if (serial[0]! & 0x80) serial = Buffer.concat([Buffer.from([0]), serial]);
  return `${Buffer.from(keyId, 'hex').toString('base64url')}.${serial.toString('base64url')}`;
}

/**
 * The CA's suggested renewal window for a certificate, or undefined when its directory offers no
 * renewal information (or the certificate has no AKI). The CA's HTTPS must chain to `ca`.
 */
export async function fetchRenewalInfo(directory: string, certificatePem: string, ca: readonly string[]): Promise<RenewalWindow | undefined> {
  const certId = ariCertId(certificatePem);
  if (!certId) return undefined;
  const agent = new https.Agent({ ca: [...ca], keepAlive: false });
  const dir = await getJson(directory, agent);
  const base = (dir.body as { renewalInfo?: unknown }).renewalInfo;
  if (typeof base !== 'string') return undefined;
  if (new URL(base).protocol !== 'https:') throw new Error(`its renewalInfo ${base} is not an https:// URL`);
  const info = await getJson(`${base.replace(/\/$/, '')}/${certId}`, agent);
  const window = (info.body as { suggestedWindow?: { start?: unknown; end?: unknown }; explanationURL?: unknown }).suggestedWindow;
  const start = typeof window?.start === 'string' ? Date.parse(window.start) : Number.NaN;
  const end = typeof window?.end === 'string' ? Date.parse(window.end) : Number.NaN;
  if (Number.isNaN(start) || Number.isNaN(end) || end <= start) throw new Error(`its renewal information for ${certId} has no valid suggestedWindow`);
  const explanation = (info.body as { explanationURL?: unknown }).explanationURL;
  return {
    start: new Date(start).toISOString(),
    end: new Date(end).toISOString(),
    retryAfterSeconds: retryAfter(info.retryAfter),
    ...(typeof explanation === 'string' ? { explanationURL: explanation } : {}),
  };
}

/** RFC 9773 §4.2: a uniformly random moment in the window; at once when the window is over. */
export function pickRenewalTime(window: { start: string; end: string }, now: number, random = Math.random): number {
  const start = Date.parse(window.start);
  const end = Date.parse(window.end);
  if (end <= now) return now;
  const from = Math.max(start, now);
  return from + Math.floor(random() * (end - from));
}

/** Retry-After as seconds or an HTTP date; kept within an hour and a day (six hours when absent). */
function retryAfter(header: string | undefined): number {
  if (!header) return DEFAULT_RETRY_SECONDS;
  const seconds = /^\d+$/.test(header.trim()) ? Number(header) : (Date.parse(header) - Date.now()) / 1000;
  if (!Number.isFinite(seconds)) return DEFAULT_RETRY_SECONDS;
  return Math.min(Math.max(Math.round(seconds), 3600), 86_400);
}

function getJson(url: string, agent: https.Agent): Promise<{ body: unknown; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { agent, timeout: TIMEOUT_MS, headers: { accept: 'application/json' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`${url} answers HTTP ${res.statusCode}`));
        return;
      }
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
        if (text.length > MAX_BODY) req.destroy(new Error(`${url} answers more than ${MAX_BODY} bytes`));
      });
      res.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        if (body && typeof body === 'object') resolve({ body, retryAfter: res.headers['retry-after'] });
        else reject(new Error(`${url} answers no JSON object`));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer within ${TIMEOUT_MS / 1000} seconds`)));
    req.on('error', reject);
  });
}
