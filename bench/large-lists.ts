/**
 * What a client costs when the configuration's lists are large. Sender groups: finding the client's
 * group and whether its host name must be looked up, before the greeting, with 10 to 10,000 entries
 * (CIDR blocks, IPv4 and IPv6) in ALLOWLIST; the client is in no group but ALL, so every entry is
 * looked at. Recipient access table: one RCPT for a domain not in a table of as many domains and
 * ".domain" entries. "Entry by entry" is how both were matched before (patternMatches and
 * entryCovers on each entry); "compiled" is what the listener does now, after compiling both once
 * at each commit ("compile ms"). Destination controls and SMTP routes: the lookup each delivery
 * makes of its domain among as many entries (mostSpecificEntry), by a scan of every entry as before
 * and through the index it now keeps per list. Printed, nothing asserted.
 */
import { performance } from 'node:perf_hooks';
import { compileRecipientAccess } from '../src/engine/listener/rcptAccess.js';
import { entryCovers, mostSpecificEntry } from '../src/store/domainMatch.js';
import { unmappedAddress } from '../src/store/grammar.js';
import { compileHat, defaultHat, patternMatches } from '../src/store/listeners/hat.js';

const CLIENT = '203.0.113.9';

function hatWith(entries: number) {
  const hat = defaultHat('public');
  const allow = hat.senderGroups.find((g) => g.name === 'ALLOWLIST')!;
  for (let i = 0; i < entries; i += 1) allow.patterns.push(i % 4 ? `10.${(i >> 8) & 255}.${i & 255}.0/24` : `2001:db8:${i.toString(16)}::/48`);
  return hat;
}

/** µs per call of `fn`, over enough calls to take about 200 ms. */
function perCall(fn: () => void): number {
  let n = 1;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < n; i += 1) fn();
    const ms = performance.now() - t;
    if (ms > 200) return (ms * 1000) / n;
    n *= 4;
  }
}

console.log('          sender groups: µs per connection              recipient access table: µs per RCPT');
console.log('entries   entry by entry   compiled   compile ms     entry by entry   compiled   compile ms');
for (const entries of [10, 100, 1000, 10_000]) {
  const hat = hatWith(entries);
  const byEntry = perCall(() => {
    const address = unmappedAddress(CLIENT);
    hat.senderGroups.some((g) => g.patterns.some((p) => p !== 'ALL' && patternMatches(p, address)));
  });
  let t = performance.now();
  const hatOf = compileHat(hat);
  const compile = performance.now() - t;
  const compiled = perCall(() => {
    if (hatOf.usesHostnames) throw new Error('no names here');
    hatOf.classify(CLIENT);
  });
  const table = Array.from({ length: entries }, (_, i) => (i % 3 ? `d${i}.example` : `.sub${i}.example`));
  const ratByEntry = perCall(() => table.some((entry) => entry.toLowerCase() === 'all' || entryCovers(entry, 'nowhere.test')));
  t = performance.now();
  const allowed = compileRecipientAccess(table);
  const ratCompile = performance.now() - t;
  const rat = perCall(() => allowed('user@nowhere.test'));
  console.log(
    `${String(entries).padStart(7)}   ${byEntry.toFixed(1).padStart(14)}   ${compiled.toFixed(1).padStart(8)}   ${compile.toFixed(1).padStart(10)}` +
      `     ${ratByEntry.toFixed(1).padStart(14)}   ${rat.toFixed(1).padStart(8)}   ${ratCompile.toFixed(1).padStart(10)}`,
  );
}

console.log('\nentries   destination or route lookup, µs per delivery: scan of every entry   indexed');
for (const entries of [10, 100, 1000, 10_000]) {
  const list = Array.from({ length: entries }, (_, i) => ({ domain: i % 3 ? `d${i}.example` : `.sub${i}.example` }));
  const scan = perCall(() => list.find((e) => e.domain.toLowerCase() === 'x.nowhere.test') ?? list.filter((e) => e.domain.startsWith('.') && entryCovers(e.domain, 'x.nowhere.test')).sort((a, b) => b.domain.length - a.domain.length)[0]);
  const indexed = perCall(() => mostSpecificEntry(list, 'x.nowhere.test'));
  console.log(`${String(entries).padStart(7)}   ${scan.toFixed(1).padStart(66)}   ${indexed.toFixed(1).padStart(7)}`);
}
