import { createSelfSigned } from '../pki/generate.js';
import { storeKey } from '../store/certificates/keys.js';
import type { DataPaths } from '../store/paths.js';
import { type CertificateProfile, type Config, defaultConfig } from '../store/schema.js';

/**
 * The demonstration certificate, made once per installation at first start: a fresh key (no key
 * ships with the package), self-signed for the host name, marked as a demo so the shell warns
 * whenever a service uses it.
 */
export async function createDemoProfile(paths: DataPaths, hostname: string): Promise<CertificateProfile> {
  const g = await createSelfSigned({ commonName: hostname, organization: 'mxgate demonstration certificate', country: 'US' }, 3650, 'rsa2048');
  const keyRef = await storeKey(paths, g.privateKeyPem);
  return { name: 'Demo', certificate: g.certificatePem, intermediates: [], keyRef, csr: null, demo: true };
}

/**
 * The embedded default configuration plus this installation's demo certificate. A new appliance
 * delivers securely by default: TLS Preferred, DANE Opportunistic and MTA-STS on the default
 * destination entry, where the AsyncOS guide's factory default (No / None / off) would send a first
 * message in clear to a peer that offers STARTTLS. Existing data directories keep their settings
 * (the schema's defaults stay the appliance's); `destconfig default --tls no --dane none --mta-sts no`
 * restores them.
 */
export async function initialConfig(paths: DataPaths): Promise<Config> {
  const config = defaultConfig();
  config.delivery.defaults = { ...config.delivery.defaults, tls: 'preferred', dane: 'opportunistic', mtaSts: 'yes' };
  config.certificates.push(await createDemoProfile(paths, config.hostname));
  return config;
}
