// The test files of the given folders, the slowest first: with several files running at once
// (--test-concurrency), a long file started last would run alone at the end. The list is the
// measured order (longest first) of the end-to-end files; every other file follows in name order.
import { readdirSync } from 'node:fs';

const SLOWEST = [
  'e2e/https-gui', 'e2e/cluster', 'e2e/mtasts', 'e2e/delivery', 'e2e/certconfig', 'e2e/startup-repair', 'e2e/workers',
  'e2e/ssh', 'e2e/inbound-tls', 'e2e/shell-trust', 'e2e/access-attacks', 'e2e/dane', 'e2e/logs',
  'e2e/accounts', 'e2e/crash-recovery', 'e2e/dead-destination',
];

const files = process.argv.slice(2).flatMap((dir) =>
  readdirSync(new URL(`./${dir}/`, import.meta.url)).filter((f) => f.endsWith('.test.ts')).map((f) => `${dir}/${f.slice(0, -'.test.ts'.length)}`),
);
const rank = (f) => (SLOWEST.includes(f) ? SLOWEST.indexOf(f) : SLOWEST.length);
files.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
console.log(files.map((f) => `test/${f}.test.ts`).join(' '));
