/**
 * What a connecting client costs the listener before its greeting when the HAT's sender groups are
 * large: finding its group (classify) and deciding whether its host name must be looked up, with
 * 10 to 10,000 entries (CIDR blocks, IPv4 and IPv6) in ALLOWLIST. "Entry by entry" is how it was
 * matched before the groups were compiled (patternMatches on each entry); "compiled" is what the
 * listener does now. The client is in no group but ALL, so every entry is looked at. Printed,
 * nothing asserted.
 */
import { performance } from 'node:perf_hooks';
import { unmappedAddress } from '../src/store/grammar.js';
import { classify, defaultHat, hatUsesHostnames, patternMatches } from '../src/store/listeners/hat.js';

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

console.log('entries   entry by entry   compiled   (µs of CPU per connection, before the greeting)');
for (const entries of [10, 100, 1000, 10_000]) {
  const hat = hatWith(entries);
  const byEntry = perCall(() => {
    const address = unmappedAddress(CLIENT);
    hat.senderGroups.some((g) => g.patterns.some((p) => p !== 'ALL' && patternMatches(p, address)));
  });
  const compiled = perCall(() => {
    hatUsesHostnames(hat);
    classify(hat, CLIENT);
  });
  console.log(`${String(entries).padStart(7)}   ${byEntry.toFixed(1).padStart(14)}   ${compiled.toFixed(1).padStart(8)}`);
}
