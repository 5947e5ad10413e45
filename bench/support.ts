/** Small helpers shared by the benchmark scripts: results files, medians, plain tables. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The machine a figure was measured on, recorded next to every result. */
export function machine() {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    date: new Date().toISOString(),
  };
}

/** Writes `bench/results/<name>.json` (git-ignored) for tools and for BENCHMARKS.md updates. */
export function writeResults(name: string, results: unknown): void {
  const dir = join(import.meta.dirname, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify({ machine: machine(), results }, null, 2)}\n`);
}

type Column<T> = readonly [key: keyof T & string, title: string, decimals?: number];

/** A Markdown table, so printed output can be pasted into BENCHMARKS.md as is. */
export function table<T extends Record<string, unknown>>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cell = (row: T, [key, , decimals]: Column<T>) => {
    const value = row[key];
    return typeof value === 'number' ? value.toFixed(decimals ?? 2) : String(value);
  };
  const lines = [
    `| ${columns.map(([, title]) => title).join(' | ')} |`,
    `|${columns.map(([, , decimals]) => (decimals === undefined ? '---' : '---:')).join('|')}|`,
    ...rows.map((row) => `| ${columns.map((column) => cell(row, column)).join(' | ')} |`),
  ];
  return lines.join('\n');
}
