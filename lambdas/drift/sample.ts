/* eslint-disable @typescript-eslint/no-non-null-assertion -- numeric kernels index typed arrays within loop bounds; `!` states that where noUncheckedIndexedAccess cannot see it. */
/**
 * Uniform random samples of a stream of numbers, in bounded memory, and their merge.
 *
 * A `Reservoir` keeps a simple random sample (without replacement) of at most `capacity` of
 * the values it is offered (Vitter's algorithm R). `mergeSamples` combines samples of two
 * disjoint parts into a simple random sample of their union: it first draws how many of the
 * merged sample's values come from each part (hypergeometric, by sequential draws weighted by
 * the parts' remaining population sizes), then picks that many uniformly from each part's
 * sample. When both parts are complete (sample size = population), so is the result, up to
 * the capacity. Randomness comes from a seeded generator, so a baseline is reproducible.
 */
import { sortFloat64 } from './sort';

/** xoshiro128** seeded with splitmix32: fast, small state, good enough for sampling. */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed = 0x9e3779b9) {
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
  }

  private nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  next(): number {
    return ((this.nextUint32() >>> 5) * 67108864 + (this.nextUint32() >>> 6)) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export class Reservoir {
  readonly values: Float64Array;
  /** How many values were offered. */
  seen = 0;

  constructor(
    readonly capacity: number,
    private readonly random: Random,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.values = new Float64Array(capacity);
  }

  offer(value: number): void {
    const t = this.seen++;
    if (t < this.capacity) {
      this.values[t] = value;
      return;
    }
    const j = this.random.below(t + 1);
    if (j < this.capacity) this.values[j] = value;
  }

  /**
   * Takes in a sample of another, disjoint part of the stream (`population` values offered
   * there): afterwards this reservoir holds a uniform sample of both parts, as if it had been
   * offered all of their values (`mergeSamples`), and goes on with algorithm R from there.
   */
  absorb(other: PopulationSample): void {
    const own = { sample: this.values.slice(0, Math.min(this.seen, this.capacity)), population: this.seen };
    const merged = mergeSamples(own, other, this.capacity, this.random);
    this.values.fill(0);
    this.values.set(merged);
    this.seen += other.population;
  }

  /** The sample, sorted ascending (a copy). */
  sorted(): Float64Array {
    return sortFloat64(this.values.slice(0, Math.min(this.seen, this.capacity)));
  }
}

export interface PopulationSample {
  /** A simple random sample of the population (any order). */
  readonly sample: Float64Array;
  /** Size of the population it was drawn from. */
  readonly population: number;
}

/** A simple random sample of at most `capacity` values of the union of two disjoint populations, sorted. */
export function mergeSamples(a: PopulationSample, b: PopulationSample, capacity: number, random: Random): Float64Array {
  for (const part of [a, b]) {
    if (part.sample.length > part.population) throw new RangeError('a sample cannot be larger than its population');
    if (part.sample.length < Math.min(part.population, capacity)) {
      throw new RangeError(`a part's sample (${part.sample.length}) is smaller than min(population, capacity) = ${Math.min(part.population, capacity)}`);
    }
  }
  const size = Math.min(capacity, a.population + b.population);
  let remainingA = a.population;
  let remainingB = b.population;
  let fromA = 0;
  for (let i = 0; i < size; i++) {
    if (random.next() * (remainingA + remainingB) < remainingA) {
      fromA++;
      remainingA--;
    } else remainingB--;
  }
  const merged = new Float64Array(size);
  merged.set(pick(a.sample, fromA, random), 0);
  merged.set(pick(b.sample, size - fromA, random), fromA);
  return sortFloat64(merged);
}

/** k values chosen uniformly without replacement (partial Fisher–Yates on a copy). */
function pick(sample: Float64Array, k: number, random: Random): Float64Array {
  if (k >= sample.length) return sample;
  const copy = sample.slice();
  for (let i = 0; i < k; i++) {
    const j = i + random.below(copy.length - i);
    const swap = copy[i]!;
    copy[i] = copy[j]!;
    copy[j] = swap;
  }
  return copy.subarray(0, k);
}
