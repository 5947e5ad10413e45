/* eslint-disable @typescript-eslint/no-non-null-assertion -- numeric kernels index typed arrays within loop bounds; `!` states that where noUncheckedIndexedAccess cannot see it. */
/**
 * Parsing decimal numbers straight from bytes, without making a string per value.
 *
 * The fast path is exact: a decimal with at most 15 significant digits and a power of ten
 * within ±22 is m · 10^k or m / 10^k with both operands exact doubles, so one IEEE operation
 * gives the correctly rounded result (Clinger's fast path), the same double numpy or
 * `Number()` would produce. Anything else (more digits, large exponents) falls back to
 * `Number()` on the text after a strict syntax check, so "0x10", "Infinity" or "1_0" never
 * count as numbers.
 */

const POWERS_OF_TEN = Array.from({ length: 23 }, (_, i) => 10 ** i);
const STRICT_DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

const PLUS = 0x2b;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;

/**
 * The finite number written in `bytes[start, end)` (surrounding blanks already trimmed), or
 * NaN when the text is not a decimal number. Empty input is the caller's business.
 */
export function parseDecimal(bytes: Uint8Array, start: number, end: number): number {
  let i = start;
  let negative = false;
  const first = bytes[i];
  if (first === MINUS || first === PLUS) {
    negative = first === MINUS;
    i++;
  }
  let mantissa = 0;
  let significant = 0;
  let exponent = 0;
  let digits = 0;
  let byte = 0;
  // Integer part.
  while (i < end && (byte = bytes[i]!) >= ZERO && byte <= NINE) {
    if (significant > 0 || byte !== ZERO) {
      if (significant < 15) mantissa = mantissa * 10 + (byte - ZERO);
      else exponent++;
      significant++;
    }
    digits++;
    i++;
  }
  // Fraction.
  if (i < end && bytes[i] === DOT) {
    i++;
    while (i < end && (byte = bytes[i]!) >= ZERO && byte <= NINE) {
      if (significant > 0 || byte !== ZERO) {
        if (significant < 15) {
          mantissa = mantissa * 10 + (byte - ZERO);
          exponent--;
        }
        significant++;
      } else {
        exponent--;
      }
      digits++;
      i++;
    }
  }
  if (digits === 0) return Number.NaN;
  // Exponent.
  if (i < end && (bytes[i] === LOWER_E || bytes[i] === UPPER_E)) {
    i++;
    let expNegative = false;
    if (i < end && (bytes[i] === MINUS || bytes[i] === PLUS)) {
      expNegative = bytes[i] === MINUS;
      i++;
    }
    let expDigits = 0;
    let value = 0;
    while (i < end && (byte = bytes[i]!) >= ZERO && byte <= NINE) {
      if (value < 100_000) value = value * 10 + (byte - ZERO);
      expDigits++;
      i++;
    }
    if (expDigits === 0) return Number.NaN;
    exponent += expNegative ? -value : value;
  }
  if (i !== end) return Number.NaN;
  if (significant <= 15 && exponent >= -22 && exponent <= 22) {
    const magnitude = exponent >= 0 ? mantissa * POWERS_OF_TEN[exponent]! : mantissa / POWERS_OF_TEN[-exponent]!;
    return negative ? -magnitude : magnitude;
  }
  return parseDecimalText(latin1(bytes, start, end));
}

/** The strict decimal syntax, for text that is already a string (JSON values, capture payloads). */
export function parseDecimalText(text: string): number {
  const trimmed = text.trim();
  if (!STRICT_DECIMAL.test(trimmed)) return Number.NaN;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : Number.NaN;
}

function latin1(bytes: Uint8Array, start: number, end: number): string {
  let text = '';
  for (let i = start; i < end; i++) text += String.fromCharCode(bytes[i]!);
  return text;
}
