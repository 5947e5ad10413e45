/* eslint-disable @typescript-eslint/no-non-null-assertion -- numeric kernels index typed arrays within loop bounds; `!` states that where noUncheckedIndexedAccess cannot see it. */
/**
 * Sorting Float64Arrays fast: an LSD radix sort on the IEEE 754 bit patterns, 4 passes of 16
 * bits, O(n) and about 3–5× faster than `Float64Array.prototype.sort` at a million values.
 * Bit patterns are mapped to unsigned keys that order like the numbers (flip all bits of
 * negatives, the sign bit of the rest), so the order is numeric with -0 before +0, as
 * `TypedArray.prototype.sort` orders them. NaN must not be present (callers compact first).
 * Small arrays use the built-in sort.
 *
 * `compactSortFloat64` (NaN dropped, into a new array) is the drift path's entry: it first tries
 * `sortDecimals`, which sorts columns of fixed-point decimals (what CSV files mostly hold: at
 * most 9 fraction digits, |v·10^d| < 2^31) as 32-bit integers, 2 passes over 4-byte keys instead
 * of 4 over 8-byte ones, checking that every value is exactly m / 10^d so the output holds the
 * very same doubles; otherwise the fused double radix sort (compaction, key mapping and digit
 * counting in one pass; the last scatter pass maps keys back to doubles). Measured with
 * `node --cpu-prof` on bench:drift's data (see BENCHMARKS.md).
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
    exclusivePrefixSums(counts, base);
    scatter(from, to, n, word, shift, base);
    const swap = from;
    from = to;
    to = swap;
  }

  // Back from keys to doubles, into `values`.
  keysToDoubles(from, wordsA, n);
  return values;
}


/**
 * The non-NaN values of `values`, sorted ascending (`values` is not changed): in a new array,
 * or at the start of `into` (at least as long as `values`; the result is its subarray), so a
 * caller sorting column after column reuses one buffer instead of faulting in fresh memory.
 */
export function compactSortFloat64(values: Float64Array, into?: Float64Array): Float64Array {
  if (into !== undefined && into.length < values.length) throw new RangeError(`a buffer of ${into.length} for ${values.length} values`);
  if (values.length < RADIX_THRESHOLD) return compactSortDoubles(values, into);
  const decimal = sortDecimals(values, into);
  if (decimal) return decimal;
  return compactSortDoubles(values, into);
}

function compactSortDoubles(values: Float64Array, into: Float64Array | undefined): Float64Array {
  const n0 = values.length;
  if (n0 < RADIX_THRESHOLD) {
    let n = 0;
    const out = into ?? new Float64Array(n0);
    for (let i = 0; i < n0; i++) {
      const v = values[i]!;
      if (v === v) out[n++] = v;
    }
    return into !== undefined ? out.subarray(0, n).sort() : (n === n0 ? out : out.slice(0, n)).sort();
  }
  const out = into ?? new Float64Array(n0);
  const outWords = new Uint32Array(out.buffer, out.byteOffset, n0 * 2);
  const inWords = new Uint32Array(values.buffer, values.byteOffset, n0 * 2);
  counts.fill(0);
  // One pass: drop NaN, map each double's bits to a key that orders like the number, count all four digits.
  let n = 0;
  for (let i = 0; i < n0; i++) {
    const v = values[i]!;
    if (v !== v) continue;
    let lo = inWords[2 * i]!;
    let hi = inWords[2 * i + 1]!;
    if (hi & 0x80000000) {
      hi = ~hi >>> 0;
      lo = ~lo >>> 0;
    } else {
      hi = (hi | 0x80000000) >>> 0;
    }
    outWords[2 * n] = lo;
    outWords[2 * n + 1] = hi;
    counts[lo & 0xffff]!++;
    counts[65536 + (lo >>> 16)]!++;
    counts[131072 + (hi & 0xffff)]!++;
    counts[196608 + (hi >>> 16)]!++;
    n++;
  }
  if (scratch.length < n) scratch = new Float64Array(n);
  const scratchWords = new Uint32Array(scratch.buffer, 0, n * 2);
  // Passes that move something (a digit every key shares moves nothing).
  const passes: number[] = [];
  for (let pass = 0; pass < 4; pass++) {
    const word = pass >> 1;
    const shift = (pass & 1) * 16;
    if (n > 0 && counts[pass * 65536 + ((outWords[word]! >>> shift) & 0xffff)] !== n) passes.push(pass);
  }
  let from: Uint32Array = outWords;
  let to: Uint32Array = scratchWords;
  for (let p = 0; p < passes.length; p++) {
    const pass = passes[p]!;
    const word = pass >> 1;
    const shift = (pass & 1) * 16;
    const base = pass * 65536;
    exclusivePrefixSums(counts, base);
    const last = p === passes.length - 1;
    if (last && from === outWords) {
      // In place is impossible for a scatter: go through scratch, then back-map below.
      scatter(from, scratchWords, n, word, shift, base);
      from = scratchWords;
      break;
    }
    if (last) {
      // The last pass writes the doubles back from their keys, into `out`.
      scatterBack(from, outWords, n, word, shift, base);
      return out.subarray(0, n);
    }
    scatter(from, to, n, word, shift, base);
    const swap = from;
    from = to;
    to = swap;
  }
  // Keys to doubles, from wherever they ended, into `out`.
  keysToDoubles(from, outWords, n);
  return out.subarray(0, n);
}

/** Turns one digit's counts (the 65,536 of `digitCounts` from `base`) into the offsets its keys are scattered to. */
function exclusivePrefixSums(digitCounts: Uint32Array, base: number): void {
  let sum = 0;
  for (let d = base; d < base + 65536; d++) {
    const c = digitCounts[d]!;
    digitCounts[d] = sum;
    sum += c;
  }
}

/** The doubles of the first `n` sortable keys of `from`, written to `to` (which may be `from`). */
function keysToDoubles(from: Uint32Array, to: Uint32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const hi = from[2 * i + 1]!;
    const lo = from[2 * i]!;
    if (hi & 0x80000000) {
      to[2 * i + 1] = (hi & 0x7fffffff) >>> 0;
      to[2 * i] = lo;
    } else {
      to[2 * i + 1] = ~hi >>> 0;
      to[2 * i] = ~lo >>> 0;
    }
  }
}

function scatter(from: Uint32Array, to: Uint32Array, n: number, word: number, shift: number, base: number): void {
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
}

/** A scatter pass that writes each key back as its double. */
function scatterBack(from: Uint32Array, to: Uint32Array, n: number, word: number, shift: number, base: number): void {
  for (let i = 0; i < n; i++) {
    const lo = from[2 * i]!;
    const hi = from[2 * i + 1]!;
    const at = counts[base + (((word === 0 ? lo : hi) >>> shift) & 0xffff)]!++;
    if (hi & 0x80000000) {
      to[2 * at + 1] = (hi & 0x7fffffff) >>> 0;
      to[2 * at] = lo;
    } else {
      to[2 * at + 1] = ~hi >>> 0;
      to[2 * at] = ~lo >>> 0;
    }
  }
}

const POW10 = Array.from({ length: 10 }, (_, i) => 10 ** i);
const MAX_DECIMALS = 9;
const counts32 = new Uint32Array(2 * 65536);
let keyBuffer = new Uint32Array(0);
let keyScratch = new Uint32Array(0);

/**
 * Sorts non-NaN values that are all decimals with at most 9 fraction digits and |v·10^d| < 2^31
 * (-0 included) as 32-bit integers (2 radix passes of 4-byte keys instead of 4 of 8-byte ones); undefined when
 * some value is not such a decimal. The result holds exactly the input doubles: each value is
 * checked to be m / 10^d for its integer m.
 */
export function sortDecimals(values: Float64Array, into?: Float64Array): Float64Array | undefined {
  const n0 = values.length;
  // Both key buffers are kept from call to call: fresh memory costs more to fault in than to sort.
  if (keyBuffer.length < n0) keyBuffer = new Uint32Array(n0);
  if (keyScratch.length < n0) keyScratch = new Uint32Array(n0);
  let d = 0;
  let scale = 1;
  let n = 0;
  // -0 (what "-0.000" parses to) has the integer 0 as +0 has; the zeros are told apart at the end.
  let negativeZeros = 0;
  // One pass makes the keys at the scale seen so far; a value that needs more fraction digits
  // raises the scale and starts the pass over (at most 9 times; CSV columns show theirs early).
  counts32.fill(0);
  for (let i = 0; i < n0; i++) {
    const v = values[i]!;
    if (v !== v) continue;
    let m = Math.round(v * scale);
    if (m / scale !== v) {
      while (m / scale !== v) {
        if (++d > MAX_DECIMALS) return undefined;
        scale = POW10[d]!;
        m = Math.round(v * scale);
      }
      if (n > 0) {
        n = 0;
        negativeZeros = 0;
        counts32.fill(0);
        i = -1;
        continue;
      }
    }
    if (m >= 2147483648 || m < -2147483648) return undefined;
    if (v === 0 && 1 / v < 0) negativeZeros++;
    const key = (m + 2147483648) >>> 0;
    keyBuffer[n++] = key;
    counts32[key & 0xffff]!++;
    counts32[65536 + (key >>> 16)]!++;
  }
  const out = into === undefined ? new Float64Array(n) : into.subarray(0, n);
  // Passes that move something (a digit every key shares moves nothing); the last one writes
  // the doubles themselves.
  let from = keyBuffer;
  let to = keyScratch;
  let written = false;
  const moves = [0, 1].filter((pass) => n > 0 && counts32[pass * 65536 + ((keyBuffer[0]! >>> (pass * 16)) & 0xffff)] !== n);
  for (let p = 0; p < moves.length; p++) {
    const shift = moves[p]! * 16;
    const base = moves[p]! * 65536;
    exclusivePrefixSums(counts32, base);
    if (p === moves.length - 1) {
      for (let i = 0; i < n; i++) {
        const key = from[i]!;
        out[counts32[base + ((key >>> shift) & 0xffff)]!++] = (key - 2147483648) / scale;
      }
      written = true;
      break;
    }
    for (let i = 0; i < n; i++) {
      const key = from[i]!;
      to[counts32[base + ((key >>> shift) & 0xffff)]!++] = key;
    }
    const swap = from;
    from = to;
    to = swap;
  }
  if (!written) for (let i = 0; i < n; i++) out[i] = (from[i]! - 2147483648) / scale;
  if (negativeZeros > 0) {
    // The zeros are adjacent; -0 sorts before +0, as TypedArray.prototype.sort orders them.
    let first = 0;
    let hi = n;
    while (first < hi) {
      const mid = (first + hi) >>> 1;
      if (out[mid]! < 0) first = mid + 1;
      else hi = mid;
    }
    out.fill(-0, first, first + negativeZeros);
  }
  return out;
}
