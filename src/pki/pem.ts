import { UserError } from '../userError.js';
/** PEM blocks in a text: type (e.g. "CERTIFICATE") and DER bytes. */
export interface PemBlock {
  type: string;
  der: Buffer;
}

export class PemError extends UserError {
  override name = 'PemError';
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

export function parsePem(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const body = m[2]!.replace(/[\r\n\s]/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length === 0) throw new PemError(`The ${m[1]} block is not valid base64.`);
    blocks.push({ type: m[1]!, der: Buffer.from(body, 'base64') });
  }
  return blocks;
}

export function toPem(type: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${type}-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END ${type}-----\n`;
}

/** Every CERTIFICATE block of a text, re-encoded canonically; errors name what was wrong. */
export function certificatesIn(text: string, what = 'The text'): string[] {
  const certs = parsePem(text).filter((b) => b.type === 'CERTIFICATE');
  if (certs.length === 0) throw new PemError(`${what} holds no PEM certificate ("-----BEGIN CERTIFICATE-----").`);
  return certs.map((b) => toPem('CERTIFICATE', b.der));
}
