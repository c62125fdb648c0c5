import { certInfo, issuedProblem, parsePrivateKey } from '../../pki/certificate.js';
import { createCsr, createKey } from '../../pki/generate.js';
import { certificatesIn } from '../../pki/pem.js';
import { readKey, storeKey } from '../../store/certificates/keys.js';
import { trustedCas } from '../../store/certificates/trust.js';
import type { UpdateServer } from '../../store/network/updateServers.js';
import type { DataPaths } from '../../store/paths.js';
import type { Config } from '../../store/schema.js';
import { fetchRenewalInfo, type RenewalWindow } from './ari.js';
import { AcmeError, type ChallengeSolver, orderCertificate, registerAccount } from './client.js';
import { publishDns01, updateTarget } from './dns01.js';
import type { Http01Responder } from './http01.js';

export interface AcmeDeps {
  paths: DataPaths;
  log: { info(m: string): void; warning(m: string): void };
  /** The committed configuration: its CA lists check the ACME server's HTTPS certificate. */
  config: () => Config;
  responder: Http01Responder;
}

export interface OrderRequest {
  account: { directory: string; url: string; keyRef: string };
  names: string[];
  challenge: 'http-01' | 'dns-01';
  /** The certificate's key (keys/<keyRef>.pem), made or kept by the caller. */
  keyRef: string;
  /** Where DNS-01 records go (the caller's view: pending changes count). */
  updateServers: readonly UpdateServer[];
}

/**
 * ACME for certificate profiles: accounts and orders (RFC 8555). An order's result is checked
 * before anyone uses it: exactly the names asked, for the key asked, valid now.
 */
export class AcmeService {
  constructor(private readonly deps: AcmeDeps) {}

  /** Register a new account (its key made here, kept in keys/ only once the CA took it). */
  async newAccount(request: { directory: string; email: string; externalAccountBinding?: { kid: string; hmacKey: string } }): Promise<{ url: string; keyRef: string }> {
    const keyPem = await createKey('ecdsa-p256');
    const url = await registerAccount({ ...request, keyPem, ca: await this.trusted() });
    const keyRef = await storeKey(this.deps.paths, keyPem);
    this.deps.log.info(`ACME: account ${url} registered at ${request.directory} for ${request.email}`);
    return { url, keyRef };
  }

  async order(request: OrderRequest): Promise<{ certificate: string; intermediates: string[]; notAfter: string }> {
    const { paths } = this.deps;
    const where = `${request.names.join(', ')} (${request.challenge}) at ${request.account.directory}`;
    try {
      // What the order needs is checked before the CA is asked.
      if (request.challenge === 'http-01' && this.deps.responder.addresses.length === 0) {
        throw new AcmeError('no interface answers HTTP-01 challenges: set one with "interfaceconfig edit NAME --acme-http 80" and commit, or use --challenge dns-01');
      }
      if (request.challenge === 'http-01' && request.names.some((n) => n.startsWith('*.'))) throw new AcmeError('a wildcard name can only be validated with --challenge dns-01');
      if (request.challenge === 'dns-01') for (const n of request.names) await updateTarget(paths, request.updateServers, `_acme-challenge.${n.replace(/^\*\./, '')}`);
      const keyPem = await readKey(paths, request.keyRef);
      const chain = await orderCertificate({
        account: { directory: request.account.directory, url: request.account.url, keyPem: await readKey(paths, request.account.keyRef) },
        ca: await this.trusted(),
        csrPem: await createCsr(keyPem, request.names),
        challenge: request.challenge,
        solve: this.solver(request.updateServers),
      });
      const [leaf, ...intermediates] = certificatesIn(chain, 'What the CA returned');
      const problem = issuedProblem(leaf!, request.names, parsePrivateKey(keyPem));
      if (problem) throw new AcmeError(`${problem}; it was not used`);
      const notAfter = certInfo(leaf!).notAfter.toISOString();
      this.deps.log.info(`ACME: certificate issued for ${where}, valid until ${notAfter}`);
      return { certificate: leaf!, intermediates, notAfter };
    } catch (err) {
      const message = err instanceof AcmeError ? err.message : `${(err as Error).message}`;
      this.deps.log.warning(`ACME: order for ${where} failed: ${message}`);
      throw new AcmeError(message);
    }
  }

  /** The CA's renewal window for a certificate (RFC 9773), or undefined when the CA offers none. */
  async renewalInfo(directory: string, certificatePem: string): Promise<RenewalWindow | undefined> {
    try {
      return await fetchRenewalInfo(directory, certificatePem, await this.trusted());
    } catch (err) {
      throw new AcmeError(`ACME server ${new URL(directory).host}: ${(err as Error).message}`);
    }
  }

  private solver(updateServers: readonly UpdateServer[]): ChallengeSolver {
    return async (type, name, token, keyAuthorization) => {
      if (type === 'http-01') return this.deps.responder.offer(token, keyAuthorization);
      const withdraw = await publishDns01(this.deps.paths, updateServers, name, keyAuthorization);
      // acme-client drops what a removal throws: a record left behind is said here.
      return () => withdraw().catch((err: Error) => this.deps.log.warning(`ACME: the DNS-01 record of ${name} could not be removed: ${err.message}`));
    };
  }

  private async trusted(): Promise<string[]> {
    return trustedCas(this.deps.paths, this.deps.config());
  }
}
