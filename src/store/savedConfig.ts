import { VERSION } from '../version.js';
import { type Config, ConfigError, validateConfig } from './schema.js';
import { containsMaskedSecret, maskSecrets, mapSecrets, SecretBox } from './secrets.js';

/**
 * The file written by saveconfig and read by loadconfig: the whole configuration, with secrets
 * either masked (such a file cannot be loaded back, as on the appliance) or encrypted with a
 * passphrase (AES-256-GCM, key from scrypt).
 */
export interface SavedConfig {
  format: 'mxgate-config';
  formatVersion: 1;
  product: string;
  savedAt: string;
  configVersion: number;
  secrets: 'masked' | 'encrypted';
  /** With encrypted secrets: salt, and a known text encrypted to tell a wrong passphrase at once. */
  encryption?: { kdf: 'scrypt'; salt: string; check: string };
  config: unknown;
  /** Credentials the configuration refers to: private keys and TSIG keys (secrets: masked or encrypted like the rest). */
  keys?: { ref: string; privateKey: string }[];
  /** System CA bundles loaded with UPDATE (public). */
  caBundles?: { sha256: string; certificates: string[] }[];
}

/** What a configuration needs besides the document: key files and CA bundles. */
export interface ConfigFiles {
  keys: { ref: string; privateKey: string }[];
  caBundles: { sha256: string; certificates: string[] }[];
}

const CHECK_TEXT = 'mxgate-passphrase-check';

export function saveConfig(config: Config, configVersion: number, passphrase?: string, files: ConfigFiles = { keys: [], caBundles: [] }): string {
  const saved: SavedConfig = {
    format: 'mxgate-config',
    formatVersion: 1,
    product: `mxgate ${VERSION}`,
    savedAt: new Date().toISOString(),
    configVersion,
    secrets: passphrase === undefined ? 'masked' : 'encrypted',
    config: maskSecrets(config),
    keys: maskSecrets(files.keys) as ConfigFiles['keys'],
    caBundles: files.caBundles,
  };
  if (passphrase !== undefined) {
    const box = SecretBox.create(passphrase);
    saved.encryption = { kdf: 'scrypt', salt: box.salt, check: box.encrypt(CHECK_TEXT) };
    saved.config = mapSecrets(config, (v) => box.encrypt(v));
    saved.keys = mapSecrets(files.keys, (v) => box.encrypt(v)) as ConfigFiles['keys'];
  }
  return JSON.stringify(saved, null, 2) + '\n';
}

/** Parse a saved file; `passphrase` is asked only when the file has encrypted secrets. */
export async function loadSavedConfig(text: string, passphrase: () => Promise<string>): Promise<{ config: Config } & ConfigFiles> {
  let saved: SavedConfig;
  try {
    saved = JSON.parse(text) as SavedConfig;
  } catch {
    // Never the parser's message: it quotes the file's first bytes (loadconfig /etc/shadow).
    throw new ConfigError('Parsing failed: this is not a configuration file saved by mxgate (saveconfig); it is not even JSON.');
  }
  if (saved?.format !== 'mxgate-config' || saved.formatVersion !== 1) {
    throw new ConfigError('Parsing failed: this is not a configuration file saved by mxgate (saveconfig).');
  }
  let secrets: unknown = { config: saved.config, keys: saved.keys ?? [] };
  if (saved.secrets === 'encrypted') {
    if (!saved.encryption) throw new ConfigError('Parsing failed: the file says its secrets are encrypted but has no encryption header.');
    const box = SecretBox.open(await passphrase(), saved.encryption.salt);
    try {
      box.decrypt(saved.encryption.check);
    } catch {
      throw new ConfigError('The passphrase is not the one this file was saved with. Nothing was loaded.');
    }
    try {
      secrets = mapSecrets(secrets, (v) => box.decrypt(v));
    } catch {
      throw new ConfigError('An encrypted value in the file is damaged. Nothing was loaded.');
    }
  } else if (containsMaskedSecret(secrets)) {
    throw new ConfigError(
      'This file was saved with masked passphrases and cannot be loaded. Save it again choosing "Encrypt passphrases".',
    );
  }
  const { config, keys } = secrets as { config: unknown; keys: ConfigFiles['keys'] };
  return { config: validateConfig(config), keys, caBundles: saved.caBundles ?? [] };
}
