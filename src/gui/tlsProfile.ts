import { SERVER_SECURE_OPTIONS } from '../pki/tlsServerOptions.js';
import type { SecureContextOptions, TlsOptions } from 'node:tls';

/**
 * The management interface's TLS: TLS 1.2 and 1.3 only, and for 1.2 only AEAD suites with
 * forward secrecy (Mozilla's "intermediate" profile without finite-field DHE); no client-initiated
 * renegotiation. Browsers all speak this; unlike SMTP there is no clear-text fallback to weigh.
 */
const CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export function httpsContext(material: { key: string; cert: string }, ticketKeys: Buffer): SecureContextOptions {
  return {
    ticketKeys,
    key: material.key,
    cert: material.cert,
    minVersion: 'TLSv1.2',
    ciphers: CIPHERS,
    ecdhCurve: 'X25519:prime256v1:secp384r1',
    secureOptions: SERVER_SECURE_OPTIONS,
  };
}

/** A client has this long to finish the TLS handshake (Node's default is two minutes). */
const HANDSHAKE_TIMEOUT_MS = 10_000;

export const httpsServerOptions = (material: { key: string; cert: string }, ticketKeys: Buffer): TlsOptions => ({ ...httpsContext(material, ticketKeys), handshakeTimeout: HANDSHAKE_TIMEOUT_MS });

/** Sent with every answer: browsers keep to HTTPS for a year once they have seen it. */
export const HSTS = 'max-age=31536000';
