/**
 * Drift analyzer speed against numpy+scipy and pandas+scipy, side by side on the same files,
 * and capture JSON Lines throughput of one analyzer function.
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
 * - pandas+scipy: pd.read_csv (C engine) and the same statistics, on whichever python has pandas.
 * Wall and CPU seconds, best of `--repeat` runs (default 3). Then `--capture-records` (200 000)
 * capture lines through `analyzeWindow`. Prints Markdown tables for BENCHMARKS.md.
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { driftBetweenFiles, readTable } from '../cli/drift';
import { analyzeWindow, type DriftPorts } from '../lambdas/drift/analyze';
import { buildBaseline } from '../lambdas/drift/baseline';
import { Random } from '../lambdas/drift/sample';
import { writeResults } from './support';

const NUMERIC = 10;

interface Measurement {
  /** Wall-clock seconds. */
  readonly seconds: number;
  /** CPU seconds (user + system) of the process: steadier than wall time on a shared machine. */
  readonly cpuSeconds: number;
  readonly parseSeconds?: number;
  readonly parseCpuSeconds?: number;
  readonly peakRssMb: number;
}

/** Python peers: numpy+scipy on `python3`; pandas+scipy on the first interpreter that imports pandas. */
interface Peer {
  readonly name: string;
  readonly python: string;
  readonly reader: 'numpy' | 'pandas';
  readonly versions: string;
}

function peers(): Peer[] {
  const found: Peer[] = [];
  const versions = (python: string, modules: string) => {
    try {
      return execFileSync(python, ['-c', `import sys, ${modules}; print(sys.version.split()[0], ${modules.split(', ').map((m) => `'${m}', ${m}.__version__`).join(', ')})`], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    } catch {
      return undefined;
    }
  };
  const numpy = versions('python3', 'numpy, scipy');
  if (numpy) found.push({ name: 'numpy+scipy', python: 'python3', reader: 'numpy', versions: numpy });
  // pip cannot reach PyPI here; Debian's python3-pandas (apt) installs for /usr/bin/python3 only,
  // built against Debian's numpy 1.x, so it cannot be imported by a python with numpy 2.
  for (const python of ['python3', '/usr/bin/python3']) {
    const pandas = versions(python, 'pandas, numpy, scipy');
    if (pandas) {
      found.push({ name: 'pandas+scipy', python, reader: 'pandas', versions: pandas });
      break;
    }
  }
  if (!found.some((p) => p.reader === 'pandas')) process.stderr.write('pandas is not installed for any python here: the pandas+scipy peer is left out\n');
  return found;
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
  const captureRecords = option('capture-records', 200_000);
  const pythons = peers();
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
      // Interleaved, so a load change on the (shared) machine hits every side alike; best of each.
      const runs: { parse: Measurement; drift: Measurement; peers: Measurement[] }[] = [];
      for (let r = 0; r < repeat; r++) {
        runs.push({
          parse: nodeWorker('parse', base, current),
          drift: nodeWorker('drift', base, current),
          peers: pythons.map((peer) => pythonRun(peer, base, current, categorical)),
        });
      }
      const best = (list: Measurement[], key: 'seconds' | 'cpuSeconds') => Math.min(...list.map((m) => m[key]));
      const parse = { seconds: best(runs.map((r) => r.parse), 'seconds'), cpuSeconds: best(runs.map((r) => r.parse), 'cpuSeconds') };
      const drift = { seconds: best(runs.map((r) => r.drift), 'seconds'), cpuSeconds: best(runs.map((r) => r.drift), 'cpuSeconds'), peakRssMb: runs[0]!.drift.peakRssMb };
      const peerResults = pythons.map((peer, k) => {
        const list = runs.map((r) => r.peers[k]!);
        return {
          ...peer,
          seconds: best(list, 'seconds'),
          cpuSeconds: best(list, 'cpuSeconds'),
          parseSeconds: Math.min(...list.map((m) => m.parseSeconds!)),
          parseCpuSeconds: Math.min(...list.map((m) => m.parseCpuSeconds!)),
          peakRssMb: list[0]!.peakRssMb,
        };
      });
      const bestPeer = (key: 'seconds' | 'cpuSeconds') => Math.min(...peerResults.map((p) => p[key]));
      const features = `${NUMERIC} numeric${categorical ? ` + ${categorical} categorical` : ''}`;
      measured.push({ rows, numeric: NUMERIC, categorical, repeat, caretaker: drift, parseOnly: parse, peers: peerResults });
      const peerCells = peerResults.map((p) => `${p.name} ${p.seconds.toFixed(2)} s / ${p.cpuSeconds.toFixed(2)} s CPU (parse ${p.parseCpuSeconds.toFixed(2)} s CPU)`).join('; ');
      results.push(
        `| ${rows.toLocaleString('en')} × ${features} | ${drift.seconds.toFixed(2)} s / ${drift.cpuSeconds.toFixed(2)} s | ${drift.peakRssMb} MB | ${parse.seconds.toFixed(2)} s / ${parse.cpuSeconds.toFixed(2)} s | ${peerCells} | ${(drift.seconds / bestPeer('seconds')).toFixed(2)}× / ${(drift.cpuSeconds / bestPeer('cpuSeconds')).toFixed(2)}× | ${(drift.seconds / parse.seconds).toFixed(2)}× / ${(drift.cpuSeconds / parse.cpuSeconds).toFixed(2)}× |`,
      );
    }
    console.log(
      [
        '| data (baseline and current, each) | caretaker drift (wall / CPU) | peak RSS | parse only, the floor (wall / CPU) | peers (best of runs) | ÷ best peer (wall / CPU) | ÷ floor (wall / CPU) |',
        '|---|---|---|---|---|---|---|',
        ...results,
      ].join('\n'),
    );
    const capture = await captureThroughput(captureRecords);
    console.log(['', '| capture payload | records | seconds (wall / CPU) | records/s (CPU) |', '|---|---|---|---|', ...capture.map((c) => `| ${c.payload} | ${c.records.toLocaleString('en')} | ${c.seconds.toFixed(2)} / ${c.cpuSeconds.toFixed(2)} | ${Math.round(c.records / c.cpuSeconds).toLocaleString('en')} |`)].join('\n'));
    writeResults('drift', { files: measured, capture });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Capture JSON Lines throughput of one analyzer function: `analyzeWindow` (the handler's domain
 * function) over `records` SageMaker data-capture lines, one request per line, against a
 * 10-feature numeric baseline; S3 replaced by in-memory lines, so this is the function's CPU
 * cost per record (reading from S3 streams overlaps with it in Lambda).
 */
async function captureThroughput(records: number): Promise<{ payload: string; records: number; seconds: number; cpuSeconds: number }[]> {
  const random = new Random(7);
  const header = Array.from({ length: NUMERIC }, (_, j) => `x${j}`).join(',');
  const row = () => Array.from({ length: NUMERIC }, () => (random.next() * 100).toFixed(3));
  const baselineRows = [header, ...Array.from({ length: 10_000 }, () => row().join(','))].join('\n');
  const baseline = buildBaseline({ name: 'baseline.csv', bytes: Buffer.from(baselineRows) });
  const at = new Date('2026-11-22T10:30:00Z');
  const out = [];
  for (const payload of ['CSV', 'JSON'] as const) {
    const lines = Array.from({ length: records }, (_, i) => {
      const values = row();
      const data = payload === 'CSV' ? values.join(',') : JSON.stringify(Object.fromEntries(values.map((v, j) => [`x${j}`, Number(v)])));
      return JSON.stringify({
        captureData: {
          endpointInput: { observedContentType: payload === 'CSV' ? 'text/csv' : 'application/json', mode: 'INPUT', data, encoding: payload },
          endpointOutput: { observedContentType: 'text/csv', mode: 'OUTPUT', data: '0.5', encoding: 'CSV' },
        },
        eventMetadata: { eventId: `e-${i}`, inferenceId: `i-${i}`, inferenceTime: at.toISOString() },
      });
    });
    const ports: DriftPorts = {
      liveVersion: () => Promise.resolve(1),
      readBaseline: () => Promise.resolve(baseline),
      captureObjects: () => asyncOf(['capture.jsonl']),
      groundTruthObjects: () => asyncOf([]),
      lines: () => asyncOf(lines),
      putObject: () => Promise.resolve(),
      emit: () => {},
      log: () => {},
    };
    const cpu0 = process.cpuUsage();
    const started = process.hrtime.bigint();
    const result = await analyzeWindow(
      { model: 'm', windowStart: new Date(at.getTime() - 3_600_000), windowEnd: new Date(at.getTime() + 1), psiThreshold: 0.2, labelLookbackMs: 0, maxLabels: 0 },
      ports,
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    if (result.status !== 'analyzed' || result.capturedRecords !== records) throw new Error(`capture run read ${JSON.stringify(result).slice(0, 200)}`);
    out.push({ payload: `${payload} (1 record per request, ${NUMERIC} numeric)`, records, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 });
  }
  return out;
}

function asyncOf<T>(items: readonly T[]): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]: () => {
      let i = 0;
      return { next: () => Promise.resolve(i < items.length ? { value: items[i++]!, done: false as const } : { value: undefined, done: true as const }) };
    },
  };
}

function worker([what, base, current]: string[]): void {
  const cpu0 = process.cpuUsage();
  const started = process.hrtime.bigint();
  if (what === 'parse') {
    const tables = [readTable(base!), readTable(current!)];
    if (tables.some((t) => t.rows === 0)) throw new Error('no rows');
  } else {
    const report = driftBetweenFiles(base!, current!);
    if (Object.keys(report.features).length === 0) throw new Error('no features');
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  console.log(JSON.stringify({ seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRssMb }));
}

function nodeWorker(what: string, base: string, current: string): Measurement {
  const out = execFileSync(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, 'worker', what, base, current], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out) as Measurement;
}

// The same statistics in both peers; only the reader differs (np.loadtxt or pd.read_csv's C engine).
const PYTHON = `
import sys, time, resource
import numpy as np
from scipy import stats
base, current, categorical, reader = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
numeric = list(range(${NUMERIC}))
started = time.perf_counter(); cpu0 = time.process_time()
if reader == 'pandas':
    import pandas as pd
    bf, cf = pd.read_csv(base), pd.read_csv(current)
    b, c = bf.iloc[:, numeric].to_numpy(dtype=np.float64), cf.iloc[:, numeric].to_numpy(dtype=np.float64)
    bc = [bf.iloc[:, ${NUMERIC} + k].astype(str).to_numpy() for k in range(categorical)]
    cc = [cf.iloc[:, ${NUMERIC} + k].astype(str).to_numpy() for k in range(categorical)]
else:
    b = np.loadtxt(base, delimiter=',', skiprows=1, usecols=numeric)
    c = np.loadtxt(current, delimiter=',', skiprows=1, usecols=numeric)
    bc = [np.loadtxt(base, delimiter=',', skiprows=1, usecols=[${NUMERIC} + k], dtype=str) for k in range(categorical)]
    cc = [np.loadtxt(current, delimiter=',', skiprows=1, usecols=[${NUMERIC} + k], dtype=str) for k in range(categorical)]
parsed = time.perf_counter(); parsedCpu = time.process_time()
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
done = time.perf_counter(); doneCpu = time.process_time()
print('{"seconds": %f, "cpuSeconds": %f, "parseSeconds": %f, "parseCpuSeconds": %f, "peakRssMb": %d}' % (done - started, doneCpu - cpu0, parsed - started, parsedCpu - cpu0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024))
`;

function pythonRun(peer: Peer, base: string, current: string, categorical: number): Measurement {
  // One thread for BLAS, as numpy's sorting and scipy's KS are single-threaded anyway.
  const out = execFileSync(peer.python, ['-c', PYTHON, base, current, String(categorical), peer.reader], {
    encoding: 'utf8',
    env: { ...process.env, OPENBLAS_NUM_THREADS: '1' },
  });
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
