import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { cidrProblem, ipProblem, unmappedAddress } from '../grammar.js';
import { patternMatches } from '../listeners/hat.js';
import { editConfig } from '../edit.js';
import type { Config } from '../schema.js';
import { UserError } from '../../userError.js';

/** Tokens kept at once: a new one can be rolled out while the old one still works. */
export const MAX_METRICS_TOKENS = 10;

const sha256 = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * A new bearer token for /metrics: 32 random bytes (base64url) with a recognisable prefix. The
 * configuration keeps only its SHA-256 (a random 256-bit token needs no slow hash), so neither
 * showconfig nor a saved configuration can give it away; the administrator sees it once.
 */
export function addMetricsToken(config: Config, now = new Date()): { config: Config; token: string; id: string } {
  if (config.metrics.tokens.length >= MAX_METRICS_TOKENS) {
    throw new UserError(`There are already ${MAX_METRICS_TOKENS} metrics tokens: delete one first ("metricsconfig token delete ID").`);
  }
  const token = `mxgm_${randomBytes(32).toString('base64url')}`;
  const hash = sha256(token);
  const id = hash.slice(0, 8);
  return { config: editConfig(config, (d) => void d.metrics.tokens.push({ id, sha256: hash, created: now.toISOString() })), token, id };
}

export function deleteMetricsToken(config: Config, id: string): Config {
  const wanted = id.trim().toLowerCase();
  if (wanted !== 'all' && !config.metrics.tokens.some((t) => t.id === wanted)) {
    throw new UserError(`No metrics token "${id}". ${config.metrics.tokens.length ? `Known: ${config.metrics.tokens.map((t) => t.id).join(', ')}.` : 'There are none.'}`);
  }
  return editConfig(config, (d) => {
    d.metrics.tokens = wanted === 'all' ? [] : d.metrics.tokens.filter((t) => t.id !== wanted);
  });
}

/** Addresses and CIDR ranges that may read /metrics without a token ("none": only tokens). */
export function setMetricsAllow(config: Config, list: string): Config {
  const entries = list.trim().toLowerCase() === 'none' ? [] : list.split(/[\s,]+/).filter(Boolean);
  for (const e of entries) {
    const problem = e.includes('/') ? cidrProblem(e) : ipProblem(e);
    if (problem) throw new UserError(problem);
  }
  return editConfig(config, (d) => {
    d.metrics.allow = entries;
  });
}

export type ScrapeVerdict = { ok: true } | { ok: false; status: 401 | 404; reason: string };

/**
 * May this request read /metrics? The interface it came in on (its address and HTTPS port) must
 * have /metrics on (else it does not exist: 404); then a token (Authorization: Bearer) whose
 * SHA-256 is kept, or a client address in the allowed list.
 */
export function judgeScrape(config: Config, request: { localAddress: string; localPort: number; clientAddress: string; authorization?: string }): ScrapeVerdict {
  const local = unmappedAddress(request.localAddress);
  const iface = config.interfaces.find((i) => i.https?.port === request.localPort && patternMatches(i.ip, local));
  if (!iface?.metrics) return { ok: false, status: 404, reason: 'no /metrics on this interface' };
  const m = /^Bearer\s+(\S+)\s*$/i.exec(request.authorization ?? '');
  if (m) {
    const presented = Buffer.from(sha256(m[1]!), 'hex');
    if (config.metrics.tokens.some((t) => timingSafeEqual(Buffer.from(t.sha256, 'hex'), presented))) return { ok: true };
    return { ok: false, status: 401, reason: 'unknown token' };
  }
  // The allowed entries are addresses and CIDR ranges (setMetricsAllow), matched as sender group entries are.
  const client = unmappedAddress(request.clientAddress);
  if (config.metrics.allow.some((entry) => patternMatches(entry, client))) return { ok: true };
  return { ok: false, status: 401, reason: 'no token' };
}
