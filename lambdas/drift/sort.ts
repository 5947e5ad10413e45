/* eslint-disable @typescript-eslint/no-non-null-assertion -- numeric kernels index typed arrays within loop bounds; `!` states that where noUncheckedIndexedAccess cannot see it. */
/**
 * Sorting Float64Arrays fast: an LSD radix sort on the IEEE 754 bit patterns, 4 passes of 16
 * bits, O(n) and about 3–5× faster than `Float64Array.prototype.sort` at a million values.
 * Bit patterns are mapped to unsigned keys that order like the numbers (flip all bits of
 * negatives, the sign bit of the rest), so the order is numeric with -0 before +0, as
 * `TypedArray.prototype.sort` orders them. NaN must not be present (callers compact first).
 * Small arrays use the built-in sort.
 */

const RADIX_THRESHOLD = 4096;

let scratch = new Float64Array(0);
const counts = new Uint32Array(4 * 65536);

/** Sorts `values` ascending in place and returns it. */
export function sortFloat64(values: Float64Array): Float64Array {
  const n = values.length;
  if (n < RADIX_THRESHOLD) return values.sort();
  if (scratch.length < n) scratch = new Float64Array(n);
  const bufferA = values;
  const bufferB = scratch.subarray(0, n);
  const wordsA = new Uint32Array(bufferA.buffer, bufferA.byteOffset, n * 2);
  const wordsB = new Uint32Array(bufferB.buffer, bufferB.byteOffset, n * 2);

  // To sortable keys, in place: little-endian, word 2i is the low half, 2i+1 the high half.
  for (let i = 0; i < n; i++) {
    const hi = wordsA[2 * i + 1]!;
    if (hi & 0x80000000) {
      wordsA[2 * i + 1] = ~hi >>> 0;
      wordsA[2 * i] = ~wordsA[2 * i]! >>> 0;
    } else {
      wordsA[2 * i + 1] = (hi | 0x80000000) >>> 0;
    }
  }

  // One counting pass for all four digits.
  counts.fill(0);
  for (let i = 0; i < n; i++) {
    const lo = wordsA[2 * i]!;
    const hi = wordsA[2 * i + 1]!;
    counts[lo & 0xffff]!++;
    counts[65536 + (lo >>> 16)]!++;
    counts[131072 + (hi & 0xffff)]!++;
    counts[196608 + (hi >>> 16)]!++;
  }

  let from: Uint32Array = wordsA;
  let to: Uint32Array = wordsB;
  for (let pass = 0; pass < 4; pass++) {
    const word = pass >> 1;
    const shift = (pass & 1) * 16;
    const base = pass * 65536;
    // A pass where every key has the same digit moves nothing.
    if (counts[base + ((from[word]! >>> shift) & 0xffff)] === n) continue;
    let sum = 0;
    for (let d = base; d < base + 65536; d++) {
      const c = counts[d]!;
      counts[d] = sum;
      sum += c;
    }
    if (word === 0) {
      for (let i = 0; i < n; i++) {
        const lo = from[2 * i]!;
        const at = counts[base + ((lo >>> shift) & 0xffff)]!++;
        to[2 * at] = lo;
        to[2 * at + 1] = from[2 * i + 1]!;
      }
    } else {
      for (let i = 0; i < n; i++) {
        const hi = from[2 * i + 1]!;
        const at = counts[base + ((hi >>> shift) & 0xffff)]!++;
        to[2 * at] = from[2 * i]!;
        to[2 * at + 1] = hi;
      }
    }
    const swap = from;
    from = to;
    to = swap;
  }

  // Back from keys to doubles, into `values`.
  for (let i = 0; i < n; i++) {
    const hi = from[2 * i + 1]!;
    const lo = from[2 * i]!;
    if (hi & 0x80000000) {
      wordsA[2 * i + 1] = (hi & 0x7fffffff) >>> 0;
      wordsA[2 * i] = lo;
    } else {
      wordsA[2 * i + 1] = ~hi >>> 0;
      wordsA[2 * i] = ~lo >>> 0;
    }
  }
  return values;
}
