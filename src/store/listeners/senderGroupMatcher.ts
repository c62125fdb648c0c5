import net from 'node:net';
import { domainEntrySet } from '../domainMatch.js';
import { LAST_OCTET_RANGE, senderPatternKind } from '../grammar.js';

/**
 * A sender group's entries sorted by kind once, so that matching a connecting host takes a few
 * lookups however many entries the group has. Every IPv4 entry (address, CIDR block, partial
 * "10.1.", last-octet range "10.1.1.1-50") becomes an interval of addresses, found by binary
 * search; IPv6 entries go into one BlockList; host names into a `domainEntrySet`. Matching entry
 * by entry made a BlockList per entry per connection: a 1000-entry allowlist cost every
 * connection, a stranger's included, about 4.6 ms of CPU before its greeting (bench/large-lists.ts).
 * The result is the same as `patternMatches` over each entry (test/unit/sender-group-matcher.test.ts
 * compares them).
 */
export interface SenderGroupMatcher {
  /** Does the group take this client (its address, and its host name when known)? */
  matches(ip: string, hostname?: string): boolean;
  /** Does the group name hosts (so a client's host name must be looked up)? */
  readonly hasNames: boolean;
}

export function compileSenderGroup(patterns: readonly string[]): SenderGroupMatcher {
  let all = false;
  const v4: [number, number][] = [];
  const v6 = new net.BlockList();
  let v6Rules = 0;
  const names: string[] = [];
  for (const pattern of patterns) {
    switch (senderPatternKind(pattern)) {
      case 'all':
        all = true;
        break;
      case 'ip':
      case 'cidr': {
        // An address is the block of its own length.
        const [base, bits] = pattern.split('/') as [string, string?];
        if (net.isIP(base) === 4) {
          v4.push(cidrInterval(base, Number(bits ?? 32)));
        } else {
          v6.addSubnet(base, Number(bits ?? 128), 'ipv6');
          v6Rules += 1;
        }
        break;
      }
      case 'partial': {
        const octets = pattern.slice(0, -1).split('.');
        // The entry is compared as text with the address, which never has a leading zero ("010.").
        if (octets.some(leadingZero)) break;
        const start = ipv4Number([...octets, '0', '0', '0'].slice(0, 4).join('.'));
        v4.push([start, start + 2 ** (32 - 8 * octets.length) - 1]);
        break;
      }
      case 'range': {
        const [, first, low, high] = LAST_OCTET_RANGE.exec(pattern)!;
        if (first!.slice(0, -1).split('.').some(leadingZero) || Number(low) > Math.min(Number(high), 255)) break;
        const base = ipv4Number(`${first}0`);
        v4.push([base + Number(low), base + Math.min(Number(high), 255)]);
        break;
      }
      case 'name':
        names.push(pattern);
        break;
    }
  }
  const intervals = merged(v4);
  const hosts = domainEntrySet(names);
  const hasNames = hosts.size > 0;
  const matches = (ip: string, hostname?: string) => {
    if (all) return true;
    const family = net.isIP(ip);
    if (family === 4 && intervals.length > 0 && inIntervals(intervals, ipv4Number(ip))) return true;
    if (family === 6 && v6Rules > 0 && v6.check(ip, 'ipv6')) return true;
    return hostname !== undefined && hasNames && hosts.covers(hostname);
  };
  return { matches, hasNames };
}

const leadingZero = (octet: string) => octet.length > 1 && octet.startsWith('0');

/** A valid dotted-quad IPv4 address as a number (0 to 2^32 - 1). */
const ipv4Number = (ip: string) => ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);

/** The addresses of BASE/BITS, as BlockList counts them: the base's first BITS bits. */
function cidrInterval(base: string, bits: number): [number, number] {
  const size = 2 ** (32 - bits);
  const start = ipv4Number(base) - (ipv4Number(base) % size);
  return [start, start + size - 1];
}

/** Sorted by start, overlapping and adjacent intervals joined. */
function merged(intervals: [number, number][]): [number, number][] {
  const out: [number, number][] = [];
  for (const [start, end] of [...intervals].sort((a, b) => a[0] - b[0])) {
    const last = out.at(-1);
    if (last && start <= last[1] + 1) last[1] = Math.max(last[1], end);
    else out.push([start, end]);
  }
  return out;
}

function inIntervals(intervals: readonly [number, number][], n: number): boolean {
  let low = 0;
  let high = intervals.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const [start, end] = intervals[mid]!;
    if (n < start) high = mid - 1;
    else if (n > end) low = mid + 1;
    else return true;
  }
  return false;
}
