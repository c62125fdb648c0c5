import { createHmac, timingSafeEqual } from 'node:crypto';
import { nameWire, u16 } from './dnssec/records.js';

/**
 * TSIG (RFC 8945) with HMAC-SHA256: the signature a DNS message carries as its last additional
 * record, so that a zone's primary accepts a dynamic update (RFC 2136) only from a holder of the
 * shared key. Only what an update client needs: sign a request, check the signed response.
 */
export interface TsigKey {
  /** The key's name, as the server knows it (e.g. "mxgate-update"). */
  name: string;
  secret: Buffer;
}

const ALGORITHM = 'hmac-sha256';
const TYPE_TSIG = 250;
const CLASS_ANY = 255;
/** Seconds the server's clock may differ from ours (RFC 8945 §10 recommends 300). */
const FUDGE = 300;

/** RFC 8945 §5.3 errors in the TSIG record, and what they tell an administrator. */
export const TSIG_ERRORS: Record<number, string> = {
  16: 'BADSIG: the server has a key of that name, but the secret differs',
  17: 'BADKEY: the server knows no key of that name and algorithm (hmac-sha256)',
  18: 'BADTIME: the clocks of this machine and the server differ by more than 5 minutes',
  22: 'BADTRUNC: the server wants a longer MAC',
};

/** The TSIG variables (§4.3.3) that are MACed after the message: name, class, TTL, algorithm, time, fudge, error, other. */
function variables(key: TsigKey, timeSigned: number, error: number): Buffer {
  const fixed = Buffer.alloc(2 + 4);
  fixed.writeUInt16BE(CLASS_ANY, 0);
  fixed.writeUInt32BE(0, 2);
  // error, other length 0
  return Buffer.concat([nameWire(key.name.toLowerCase()), fixed, nameWire(ALGORITHM), timeFudge(timeSigned), u16(error), u16(0)]);
}

function hmac(key: TsigKey, ...parts: Buffer[]): Buffer {
  const h = createHmac('sha256', key.secret);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** `message` (a complete DNS message without TSIG) with its TSIG record appended; returns the MAC too (the response's MAC covers it). */
export function signMessage(message: Buffer, key: TsigKey, now = Math.floor(Date.now() / 1000)): { signed: Buffer; mac: Buffer } {
  const mac = hmac(key, message, variables(key, now, 0));
  const rdata = Buffer.concat([nameWire(ALGORITHM), timeFudge(now), u16(mac.length), mac, message.subarray(0, 2), u16(0), u16(0)]);
  const rr = Buffer.concat([nameWire(key.name.toLowerCase()), u16(TYPE_TSIG), u16(CLASS_ANY), Buffer.alloc(4), u16(rdata.length), rdata]);
  const signed = Buffer.concat([message, rr]);
  signed.writeUInt16BE(message.readUInt16BE(10) + 1, 10); // ARCOUNT
  return { signed, mac };
}

/** Time signed (48 bits, seconds) and fudge, as the TSIG record and its MACed variables carry them. */
function timeFudge(seconds: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt16BE(Math.floor(seconds / 2 ** 32), 0);
  b.writeUInt32BE(seconds % 2 ** 32, 2);
  b.writeUInt16BE(FUDGE, 6);
  return b;
}

/** Where each record of a message starts, and where it ends (for stripping the TSIG record). */
function recordOffsets(msg: Buffer): { start: number; end: number; type: number; rdata: number }[] {
  const counts = [msg.readUInt16BE(4), msg.readUInt16BE(6), msg.readUInt16BE(8), msg.readUInt16BE(10)];
  let at = 12;
  const skipName = () => {
    for (;;) {
      const len = msg.readUInt8(at);
      if ((len & 0xc0) === 0xc0) {
        at += 2;
        return;
      }
      at += 1 + len;
      if (len === 0) return;
    }
  };
  for (let i = 0; i < counts[0]!; i++) {
    skipName();
    at += 4;
  }
  const out = [];
  for (let i = 0; i < counts[1]! + counts[2]! + counts[3]!; i++) {
    const start = at;
    skipName();
    const type = msg.readUInt16BE(at);
    const rdlength = msg.readUInt16BE(at + 8);
    const rdata = at + 10;
    at = rdata + rdlength;
    if (at > msg.length) throw new Error('truncated record');
    out.push({ start, end: at, type, rdata });
  }
  return out;
}

/**
 * Check a response's TSIG against the request's MAC. Returns undefined when it is signed by `key`,
 * else why not (unsigned, a TSIG error the server reported, a MAC that does not verify).
 */
export function checkResponse(response: Buffer, requestMac: Buffer, key: TsigKey): string | undefined {
  let records;
  try {
    records = recordOffsets(response);
  } catch {
    return 'the answer is malformed';
  }
  const last = records.at(-1);
  if (!last || last.type !== TYPE_TSIG) return 'the answer is not signed (no TSIG record)';
  let at = last.rdata;
  // algorithm name (uncompressed, RFC 8945 §4.2)
  while (response.readUInt8(at) !== 0) at += 1 + response.readUInt8(at);
  at += 1;
  const timeSigned = response.readUInt16BE(at) * 2 ** 32 + response.readUInt32BE(at + 2);
  const macSize = response.readUInt16BE(at + 8);
  const mac = response.subarray(at + 10, at + 10 + macSize);
  at += 10 + macSize;
  const originalId = response.readUInt16BE(at);
  const error = response.readUInt16BE(at + 2);
  if (error) return TSIG_ERRORS[error] ?? `TSIG error ${error}`;
  const unsigned = Buffer.from(response.subarray(0, last.start));
  unsigned.writeUInt16BE(originalId, 0);
  unsigned.writeUInt16BE(response.readUInt16BE(10) - 1, 10);
  const expected = hmac(key, u16(requestMac.length), requestMac, unsigned, variables(key, timeSigned, 0));
  if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) return 'the TSIG signature of the answer does not verify';
  if (Math.abs(Date.now() / 1000 - timeSigned) > FUDGE) return TSIG_ERRORS[18];
  return undefined;
}
