/** A deterministic generator (xorshift32) for randomized tests, so that a failure can be replayed from its seed: `pick(n)` is 0 to n - 1. */
export function seededRandom(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}
