import https from 'node:https';
import type AcmeClient from 'acme-client';

/**
 * The one module that knows acme-client (RFC 8555): register an account, run an order to its
 * certificate. Its HTTP client is module-wide, so each call sets the CA list the ACME server's HTTPS
 * certificate must chain to (the appliance's enabled lists) and calls run one at a time.
 */

export class AcmeError extends Error {}
/** A challenge could not be set up on our side (DNS update refused …): said as it is, not as the CA's answer. */
class SolverError extends AcmeError {}

export interface AcmeAccountKey {
  directory: string;
  /** The account's URL at the CA (known after registration). */
  url?: string;
  keyPem: string;
}

export interface ChallengeSolver {
  /** Make the CA's check pass (publish the token or the TXT record); returns how to undo it. */
  (type: 'http-01' | 'dns-01', name: string, token: string, keyAuthorization: string): Promise<() => Promise<void> | void>;
}

let queue: Promise<unknown> = Promise.resolve();
/** Loaded at the first ACME call: with axios it is ~9 MB of heap that an engine without ACME never uses. */
let acme: typeof AcmeClient;

/** Run `fn` with the ACME client trusting `ca`, after the calls before it. */
function serially<T>(ca: readonly string[], directory: string, fn: () => Promise<T>): Promise<T> {
  const run = async () => {
    acme ??= (await import('acme-client')).default;
    const agent = new https.Agent({ ca: [...ca], keepAlive: false });
    // acme-client loses network and TLS errors (its retry handler then fails on the missing
    // response: "Cannot read properties of undefined"), so the directory is fetched here first.
    await reachable(directory, agent).catch((err) => {
      throw new AcmeError(`ACME server ${new URL(directory).host}: ${oneLine(err)}`);
    });
    acme.axios.defaults.httpsAgent = agent;
    acme.axios.defaults.proxy = false;
    // Retries are the scheduler's (with back-off and alerts): a request is tried twice here, not five times.
    const defaults = acme.axios.defaults as unknown as { acmeSettings: Record<string, number> };
    defaults.acmeSettings = { ...defaults.acmeSettings, retryMaxAttempts: 2, retryDefaultDelay: 1 };
    try {
      return await fn();
    } catch (err) {
      if (err instanceof SolverError) throw new AcmeError(err.message);
      throw new AcmeError(`ACME server ${new URL(directory).host}: ${oneLine(err)}`);
    }
  };
  const result = queue.then(run, run);
  queue = result.catch(() => undefined);
  return result;
}

function reachable(directory: string, agent: https.Agent): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = https.get(directory, { agent, timeout: 15_000 }, (res) => {
      res.resume();
      if (res.statusCode === 200) resolve();
      else reject(new Error(`its directory ${directory} answers HTTP ${res.statusCode}`));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 15 seconds')));
    req.on('error', reject);
  });
}

/** One line an administrator can act on, from an ACME problem document, an HTTP or a TLS error. */
function oneLine(err: unknown): string {
  const e = err as Error & { code?: string; response?: { data?: { detail?: string } } };
  const text = e.response?.data?.detail ?? e.message ?? String(err);
  if (err instanceof TypeError && /reading 'config'/.test(text)) return 'the connection to it failed during the order';
  if (e.code === 'ECONNREFUSED') return `cannot connect (${text.replace(/^connect /, '')})`;
  if (/certificate|self.signed|UNABLE_TO/i.test(e.code ?? '') || /self.signed|unable to verify/i.test(text)) return `its HTTPS certificate is not trusted (${text}); add its root to the custom CA list (certconfig certauthority custom import)`;
  return text.split('\n')[0]!;
}

/** Register (or find again) the account of `keyPem` at the CA; returns its URL. */
export function registerAccount(options: {
  directory: string;
  keyPem: string;
  email: string;
  ca: readonly string[];
  externalAccountBinding?: { kid: string; hmacKey: string };
}): Promise<string> {
  return serially(options.ca, options.directory, async () => {
    const client = new acme.Client({ directoryUrl: options.directory, accountKey: options.keyPem, externalAccountBinding: options.externalAccountBinding });
    await client.createAccount({ termsOfServiceAgreed: true, contact: [`mailto:${options.email}`] });
    return client.getAccountUrl();
  });
}

/** Order a certificate for the CSR's names with one challenge type; returns the PEM chain (leaf first). */
export function orderCertificate(options: {
  account: AcmeAccountKey;
  ca: readonly string[];
  csrPem: string;
  challenge: 'http-01' | 'dns-01';
  solve: ChallengeSolver;
}): Promise<string> {
  const { account } = options;
  return serially(options.ca, account.directory, async () => {
    const client = new acme.Client({ directoryUrl: account.directory, accountKey: account.keyPem, accountUrl: account.url });
    const undo = new Map<string, () => Promise<void> | void>();
    return client.auto({
      csr: options.csrPem,
      termsOfServiceAgreed: true,
      challengePriority: [options.challenge],
      // The solver checks its own work (the record at the primary, the token in the responder).
      skipChallengeVerification: true,
      challengeCreateFn: async (authz, challenge, keyAuthorization) => {
        if (challenge.type !== options.challenge) throw new Error(`the CA offers no ${options.challenge} challenge for ${authz.identifier.value}`);
        const token = challenge.type === 'http-01' ? challenge.token : '';
        undo.set(challenge.url, await options.solve(options.challenge, authz.identifier.value, token, keyAuthorization).catch((err: Error) => Promise.reject(new SolverError(err.message))));
      },
      challengeRemoveFn: async (_authz, challenge) => {
        await undo.get(challenge.url)?.();
        undo.delete(challenge.url);
      },
    });
  });
}
