/**
 * mulberry32: a tiny, fast 32-bit PRNG. Same seed, same sequence, on every machine — the data
 * sets and the validation split are reproducible byte for byte.
 */
export type Random = () => number;

export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Standard normal draw (Box–Muller). */
export function normal(random: Random, mean = 0, sd = 1): number {
  const u = 1 - random(); // (0, 1]
  const v = random();
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Poisson draw (Knuth); fine for the small rates used here. */
export function poisson(random: Random, lambda: number): number {
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = random();
  while (p > limit) {
    k += 1;
    p *= random();
  }
  return k;
}

/** Exponential draw with the given mean. */
export function exponential(random: Random, mean: number): number {
  return -mean * Math.log(1 - random());
}

/** Picks a key of `weights` with probability proportional to its weight. */
export function pick<K extends string>(random: Random, weights: Readonly<Record<K, number>>): K {
  const entries = Object.entries(weights) as [K, number][];
  const total = entries.reduce((sum, [, w]) => sum + w, 0);
  let r = random() * total;
  for (const [key, weight] of entries) {
    r -= weight;
    if (r < 0) return key;
  }
  const last = entries.at(-1);
  if (!last) throw new Error('pick needs at least one weight');
  return last[0];
}

/** Fisher–Yates shuffle of indices 0..n-1. */
export function shuffledIndices(random: Random, n: number): number[] {
  const indices = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    const swap = indices[i] ?? i;
    indices[i] = indices[j] ?? j;
    indices[j] = swap;
  }
  return indices;
}
