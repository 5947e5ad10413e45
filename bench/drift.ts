/**
 * Drift analyzer speed against numpy + scipy, side by side on the same files.
 *
 *   npm run bench:drift [-- --rows 1000000]
 *
 * Generates (fixed seed, temp dir) a baseline and a current CSV of N rows × 10 numeric
 * features, and a second pair that adds 2 categorical features. Each measurement runs in its
 * own process so its peak RSS is its own:
 * - caretaker parse: read both files and parse them into columns (the floor: no statistics);
 * - caretaker drift: the whole `caretaker drift` computation (parse, sort once per feature,
 *   deciles, bins, PSI, JS, KS; chi-square for categories);
 * - numpy+scipy: np.loadtxt, then per feature np.quantile, np.histogram, scipy.stats.ks_2samp
 *   (and np.unique + chi2_contingency for the categories); its parse time is reported too.
 * Best of `--repeat` runs (default 3). Prints a Markdown table for BENCHMARKS.md.
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { driftBetweenFiles, readTable } from '../cli/drift';
import { Random } from '../lambdas/drift/sample';
import { writeResults } from './support';

const NUMERIC = 10;

interface Measurement {
  readonly seconds: number;
  readonly parseSeconds?: number;
  readonly peakRssMb: number;
}

async function main(): Promise<void> {
  const [mode, ...rest] = process.argv.slice(2);
  if (mode === 'worker') return worker(rest);
  const option = (name: string, fallback: number) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : fallback;
  };
  const rows = option('rows', 1_000_000);
  const repeat = option('repeat', 3);
  const dir = mkdtempSync(join(tmpdir(), 'caretaker-bench-drift-'));
  try {
    const results: string[] = [];
    const measured: unknown[] = [];
    for (const categorical of [0, 2]) {
      const base = join(dir, `baseline-${categorical}.csv`);
      const current = join(dir, `current-${categorical}.csv`);
      process.stderr.write(`generating ${rows} rows × ${NUMERIC} numeric + ${categorical} categorical …\n`);
      await generate(base, rows, categorical, 1, 0);
      await generate(current, rows, categorical, 2, 0.1);
      // Interleaved, so a load change on the (shared) machine hits both sides alike; best of each.
      const runs: { parse: Measurement; drift: Measurement; python: Measurement }[] = [];
      for (let r = 0; r < repeat; r++) {
        runs.push({ parse: nodeWorker('parse', base, current), drift: nodeWorker('drift', base, current), python: pythonRun(base, current, categorical) });
      }
      const best = (pick: (run: (typeof runs)[number]) => Measurement) => runs.map(pick).reduce((a, b) => (b.seconds < a.seconds ? b : a));
      const parse = best((run) => run.parse);
      const drift = best((run) => run.drift);
      const python = best((run) => run.python);
      const features = `${NUMERIC} numeric${categorical ? ` + ${categorical} categorical` : ''}`;
      measured.push({ rows, numeric: NUMERIC, categorical, repeat, caretaker: drift, parseOnly: parse, numpyScipy: python, speedUp: python.seconds / drift.seconds, rowsPerSecond: (2 * rows) / drift.seconds });
      results.push(
        `| ${rows.toLocaleString('en')} × ${features} | ${drift.seconds.toFixed(2)} s | ${Math.round((2 * rows) / drift.seconds).toLocaleString('en')} | ${drift.peakRssMb} MB | ${parse.seconds.toFixed(2)} s (${parse.peakRssMb} MB) | ${python.seconds.toFixed(2)} s (parse ${python.parseSeconds!.toFixed(2)} s) | ${python.peakRssMb} MB | ${(python.seconds / drift.seconds).toFixed(2)}× |`,
      );
    }
    console.log(
      [
        '| data (baseline and current, each) | caretaker drift | rows/s | peak RSS | parse only (floor) | numpy+scipy | numpy+scipy peak RSS | speed-up |',
        '|---|---|---|---|---|---|---|---|',
        ...results,
      ].join('\n'),
    );
    writeResults('drift', measured);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function worker([what, base, current]: string[]): void {
  const started = process.hrtime.bigint();
  if (what === 'parse') {
    const tables = [readTable(base!), readTable(current!)];
    if (tables.some((t) => t.rows === 0)) throw new Error('no rows');
  } else {
    const report = driftBetweenFiles(base!, current!);
    if (Object.keys(report.features).length === 0) throw new Error('no features');
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  console.log(JSON.stringify({ seconds, peakRssMb }));
}

function nodeWorker(what: string, base: string, current: string): Measurement {
  const out = execFileSync(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, 'worker', what, base, current], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out) as Measurement;
}

const PYTHON = `
import sys, time, resource
import numpy as np
from scipy import stats
base, current, categorical = sys.argv[1], sys.argv[2], int(sys.argv[3])
numeric = list(range(${NUMERIC}))
started = time.perf_counter()
b = np.loadtxt(base, delimiter=',', skiprows=1, usecols=numeric)
c = np.loadtxt(current, delimiter=',', skiprows=1, usecols=numeric)
bc = [np.loadtxt(base, delimiter=',', skiprows=1, usecols=[${NUMERIC} + k], dtype=str) for k in range(categorical)]
cc = [np.loadtxt(current, delimiter=',', skiprows=1, usecols=[${NUMERIC} + k], dtype=str) for k in range(categorical)]
parsed = time.perf_counter()
deciles = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
for j in numeric:
    x, y = b[:, j], c[:, j]
    edges = np.unique(np.quantile(x, deciles))
    bins = np.concatenate([[min(x.min(), y.min())], edges, [max(x.max(), y.max())]])
    e = np.maximum(np.histogram(x, bins)[0] / len(x), 1e-4)
    a = np.maximum(np.histogram(y, bins)[0] / len(y), 1e-4)
    psi = np.sum((a - e) * np.log(a / e))
    ks = stats.ks_2samp(x, y)
for x, y in zip(bc, cc):
    cats, inverse = np.unique(np.concatenate([x, y]), return_inverse=True)
    table = np.vstack([np.bincount(inverse[:len(x)], minlength=len(cats)), np.bincount(inverse[len(x):], minlength=len(cats))])
    chi2 = stats.chi2_contingency(table, correction=False)
done = time.perf_counter()
print('{"seconds": %f, "parseSeconds": %f, "peakRssMb": %d}' % (done - started, parsed - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024))
`;

function pythonRun(base: string, current: string, categorical: number): Measurement {
  const out = execFileSync('python3', ['-c', PYTHON, base, current, String(categorical)], { encoding: 'utf8' });
  return JSON.parse(out) as Measurement;
}

/** CSV of `rows` rows: 10 numeric features of assorted shapes (+ categorical ones), seeded. */
async function generate(file: string, rows: number, categorical: number, seed: number, shift: number): Promise<void> {
  const random = new Random(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next());
  const out = createWriteStream(file);
  const header = [...Array.from({ length: NUMERIC }, (_, j) => `x${j}`), ...Array.from({ length: categorical }, (_, k) => `c${k}`)];
  let chunk = `${header.join(',')}\n`;
  const categories = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta'];
  for (let i = 0; i < rows; i++) {
    const fields: string[] = [];
    for (let j = 0; j < NUMERIC; j++) {
      const z = normal() + shift * (j % 3);
      // Assorted shapes: normal, log-normal money, small counts with ties, wide-range values.
      const value = j % 4 === 0 ? z.toFixed(6) : j % 4 === 1 ? Math.exp(3 + z / 2).toFixed(2) : j % 4 === 2 ? String(Math.floor(Math.abs(z) * 3)) : (z * 1e4).toFixed(3);
      fields.push(value);
    }
    for (let k = 0; k < categorical; k++) fields.push(categories[Math.min(5, Math.floor(random.next() ** (1 + shift) * 6))]!);
    chunk += `${fields.join(',')}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  if (readFileSync(file).length === 0) throw new Error(`failed to write ${file}`);
}

await main();
