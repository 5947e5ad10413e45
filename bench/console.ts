/**
 * The console: production bundle size and first-load time against local mode.
 *
 *   npm run bench:console            (BENCH_CONSOLE_LOADS, default 10)
 *
 * Size: every file of a fresh `vite build` (console/dist), raw and gzip -9 (what CloudFront's
 * compression and `local up` would send compressed is close to this). First load: local mode's
 * stack in this process with the console served (moto, handlers in-process), then headless
 * Chromium (Debian's, through playwright-core), each load in a new browser context (empty cache,
 * empty sessionStorage) signed in as the reader: navigation start → the Models page showing
 * the model (config.json, the bundle, GET /models, a version and its metrics all fetched).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { build } from 'vite';
import { loadConfig } from '../lib/config';
import { CONSOLE_DIST, ROOT } from '../local/console';
import { localConfig } from '../local/demo';
import { READER } from '../local/principals';
import { startLocalStack } from '../local/stack';
import { median, table, writeResults } from './support';

const LOADS = Number(process.env.BENCH_CONSOLE_LOADS ?? 10);
/**
 * The console's size budget: every file it ships, gzip -9, at most this (a first visit on a slow
 * link stays short, and a new dependency that would blow it shows here). About 31 KiB now with
 * Cognito sign-in built in (no AWS SDK: fetch and Web Crypto).
 */
const GZIP_BUDGET_KIB = 50;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

await build({ configFile: join(ROOT, 'console', 'vite.config.ts'), logLevel: 'warn' });
const sizes = files(CONSOLE_DIST).map((file) => {
  const bytes = readFileSync(file);
  return { file: relative(CONSOLE_DIST, file).replace(/-[A-Za-z0-9_-]{8}\./, '-<hash>.'), kb: bytes.length / 1024, gzipKb: gzipSync(bytes, { level: 9 }).length / 1024 };
});
const total = { file: 'total', kb: sizes.reduce((s, f) => s + f.kb, 0), gzipKb: sizes.reduce((s, f) => s + f.gzipKb, 0) };
console.log(table([...sizes, total], [['file', 'file'], ['kb', 'KiB', 1], ['gzipKb', 'gzip KiB', 1]]));
console.log(`\n${total.gzipKb.toFixed(1)} KiB gzip: ${total.gzipKb > GZIP_BUDGET_KIB ? 'OVER' : 'within'} the ${GZIP_BUDGET_KIB} KiB budget`);

const stack = await startLocalStack({ config: localConfig(loadConfig(join(ROOT, 'caretaker.config.json'))), console: true });
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const loads: { ms: number; domContentLoadedMs: number }[] = [];
try {
  const url = stack.consoleUrl ?? '';
  for (let i = 0; i < LOADS + 1; i += 1) {
    const context = await browser.newContext();
    // Signed in as the console's picker does it (sessionStorage), before the page's own scripts run.
    await context.addInitScript({ content: `sessionStorage.setItem('caretaker.principal', ${JSON.stringify(READER)})` });
    const page = await context.newPage();
    const started = Date.now();
    await page.goto(`${url}#/models`);
    await page.getByTestId('model-churn').getByText('DriftScore, last 7 days').waitFor({ timeout: 30_000 });
    const ms = Date.now() - started;
    const domContentLoadedMs = Number(await page.evaluate("(() => { const [n] = performance.getEntriesByType('navigation'); return n ? n.domContentLoadedEventEnd - n.startTime : NaN; })()"));
    await context.close();
    if (i > 0) loads.push({ ms, domContentLoadedMs }); // the first load also warms the in-process handlers
  }
} finally {
  await browser.close();
  await stack.close();
}
const result = { loads: LOADS, medianMs: median(loads.map((l) => l.ms)), maxMs: Math.max(...loads.map((l) => l.ms)), medianDomContentLoadedMs: median(loads.map((l) => l.domContentLoadedMs)) };
console.log(`\n${table([result], [['loads', 'loads'], ['medianDomContentLoadedMs', 'DOMContentLoaded median ms', 0], ['medianMs', 'Models page shown, median ms', 0], ['maxMs', 'max ms', 0]])}`);
writeResults('console', { sizes: [...sizes, total], gzipBudgetKib: GZIP_BUDGET_KIB, firstLoad: result });
