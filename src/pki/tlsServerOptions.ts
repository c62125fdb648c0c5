import { constants } from 'node:crypto';

/**
 * What every TLS server of the appliance (SMTP STARTTLS, HTTPS) refuses whatever its suites:
 * renegotiation (a client could make the server repeat the expensive handshake at will; TLS 1.3
 * has none anyway) and TLS compression (CRIME).
 */
export const SERVER_SECURE_OPTIONS = constants.SSL_OP_NO_RENEGOTIATION | constants.SSL_OP_NO_COMPRESSION;
