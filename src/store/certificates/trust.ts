import { rootCertificates } from 'node:tls';
import { readBundle } from './caBundles.js';
import type { DataPaths } from '../paths.js';
import type { Config } from '../schema.js';

/** The system CA list: Node's bundled Mozilla roots, or the bundle loaded with UPDATE. */
export async function systemCas(paths: DataPaths, config: Config): Promise<readonly string[]> {
  const bundle = config.certificateAuthorities.system.bundle;
  return bundle ? readBundle(paths, bundle.sha256) : rootCertificates;
}

/** Trust anchors from the enabled lists: what delivery verification uses. */
export async function trustedCas(paths: DataPaths, config: Config): Promise<string[]> {
  const cas = config.certificateAuthorities;
  return [...(cas.system.enabled ? await systemCas(paths, config) : []), ...(cas.custom.enabled ? cas.custom.certificates : [])];
}
