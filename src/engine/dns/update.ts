import { randomInt } from 'node:crypto';
import net from 'node:net';
import type { DnsServer } from './client.js';
import { nameWire, u16 } from './dnssec/records.js';
import { checkResponse, signMessage, TSIG_ERRORS, type TsigKey } from './tsig.js';

/**
 * DNS dynamic update (RFC 2136) to a zone's primary, signed with TSIG: how the appliance publishes
 * and withdraws its own records (TLSA for a new key, ACME DNS-01 TXT). The message is built here:
 * dns-packet has no class NONE (delete one record) and no TSIG codec. Sent over TCP, one at a time.
 */
export type UpdateChange =
  /** Add one record (RDATA in wire form: tlsaRdata, txtRdata). */
  | { op: 'add'; name: string; type: string; ttl: number; rdata: Buffer }
  /** Delete one record (with rdata), or every record of the name and type (without). */
  | { op: 'delete'; name: string; type: string; rdata?: Buffer };

export class DnsUpdateError extends Error {}

const OPCODE_UPDATE = 5;
const CLASS = { IN: 1, NONE: 254, ANY: 255 };

/** What an RFC 2136 rcode means for an administrator. */
const RCODES: Record<number, string> = {
  1: 'FORMERR: the server could not read the update',
  2: 'SERVFAIL: the server failed to apply the update',
  4: 'NOTIMP: the server does not do dynamic updates',
  5: 'REFUSED: the server does not accept updates for this zone from this address or key',
  8: 'NXRRSET: a prerequisite failed',
  9: 'NOTAUTH: the server is not the primary of this zone, or did not accept the TSIG key',
  10: 'NOTZONE: a name is outside the zone',
};

export function tlsaRdata(usage: number, selector: number, matchingType: number, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from([usage, selector, matchingType]), data]);
}

export function txtRdata(...strings: string[]): Buffer {
  return Buffer.concat(
    strings.map((s) => {
      const b = Buffer.from(s, 'utf8');
      if (b.length > 255) throw new DnsUpdateError('a TXT string is at most 255 bytes');
      return Buffer.concat([Buffer.from([b.length]), b]);
    }),
  );
}

/** The record types the appliance publishes. */
const TYPES: Record<string, number> = { A: 1, CNAME: 5, TXT: 16, AAAA: 28, TLSA: 52 };

function typeCode(type: string): number {
  const code = TYPES[type.toUpperCase()];
  if (!code) throw new DnsUpdateError(`record type ${type} cannot be updated (${Object.keys(TYPES).join(', ')} can)`);
  return code;
}

/** The update message: header, zone (SOA question), no prerequisites, the changes. */
export function updateMessage(id: number, zone: string, changes: UpdateChange[]): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(OPCODE_UPDATE << 11, 2);
  header.writeUInt16BE(1, 4); // ZOCOUNT
  header.writeUInt16BE(changes.length, 8); // UPCOUNT
  const zoneSection = Buffer.concat([nameWire(zone), u16(6), u16(CLASS.IN)]);
  const records = changes.map((c) => {
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(typeCode(c.type), 0);
    const rdata = c.rdata ?? Buffer.alloc(0);
    fixed.writeUInt16BE(c.op === 'add' ? CLASS.IN : c.rdata ? CLASS.NONE : CLASS.ANY, 2);
    fixed.writeUInt32BE(c.op === 'add' ? c.ttl : 0, 4);
    fixed.writeUInt16BE(rdata.length, 8);
    return Buffer.concat([nameWire(c.name), fixed, rdata]);
  });
  return Buffer.concat([header, zoneSection, ...records]);
}

/**
 * Send `changes` to `zone`'s primary. Resolves when the server applied them (NOERROR, and with a key
 * a response that verifies); otherwise throws a DnsUpdateError that says what the server said.
 */
export async function sendUpdate(server: DnsServer, zone: string, changes: UpdateChange[], key?: TsigKey, timeoutMs = 10_000): Promise<void> {
  const id = randomInt(0, 0x10000);
  const message = updateMessage(id, zone, changes);
  const { signed, mac } = key ? signMessage(message, key) : { signed: message, mac: Buffer.alloc(0) };
  const where = `${server.host}:${server.port}`;
  const response = await exchangeTcp(server, signed, timeoutMs).catch((err: Error) => {
    throw new DnsUpdateError(`update of ${zone} at ${where} failed: ${err.message}`);
  });
  if (response.length < 12 || response.readUInt16BE(0) !== id) throw new DnsUpdateError(`update of ${zone} at ${where}: the answer does not belong to the update`);
  const rcode = response.readUInt16BE(2) & 0xf;
  // A TSIG error comes with NOTAUTH and says more than the rcode.
  const tsig = key ? checkResponse(response, mac, key) : undefined;
  const tsigError = tsig !== undefined && Object.values(TSIG_ERRORS).includes(tsig);
  if (rcode !== 0) throw new DnsUpdateError(`update of ${zone} at ${where} refused: ${tsigError ? tsig : (RCODES[rcode] ?? `rcode ${rcode}`)}`);
  if (tsig) throw new DnsUpdateError(`update of ${zone} at ${where}: ${tsig}`);
}

function exchangeTcp(server: DnsServer, message: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.port, server.host);
    let data = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error('timed out')), timeoutMs);
    const finish = (err: Error | null, answer?: Buffer) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(answer!);
    };
    socket.on('connect', () => socket.write(Buffer.concat([u16(message.length), message])));
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      if (data.length > 70_000) return finish(new Error('answer too long'));
      if (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) finish(null, data.subarray(2, 2 + data.readUInt16BE(0)));
    });
    socket.on('error', (err) => finish(err));
    socket.on('close', () => finish(new Error('connection closed before an answer')));
  });
}
