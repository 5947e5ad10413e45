/**
 * The console's browser tests' harness: `caretaker demo --console` in its own process group (the
 * whole loop, then the stack stays up with the console), and headless Chromium driven by
 * playwright-core. Chromium is Debian's (`apt-get install chromium`; `.ci/run` installs it).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { CaretakerClient } from '../../lib/client';

export const ROOT = join(import.meta.dirname, '..', '..');
export const CHROMIUM = '/usr/bin/chromium';
/** Screenshots of every run, kept by CI (gitignored). */
export const ARTIFACTS = join(ROOT, 'artifacts', 'console');

export interface DemoConsole {
  readonly consoleUrl: string;
  readonly apiUrl: string;
  readonly output: readonly string[];
  client(principal: string): CaretakerClient;
  stop(): Promise<void>;
}

/**
 * The repository's config with two changes a test of repeated runs needs: a gate that lets an
 * equal candidate through (training is seeded, so a retrain on the same data scores the same),
 * and room for more runs a day than the demo's two.
 */
function testConfig(): string {
  const config = JSON.parse(readFileSync(join(ROOT, 'caretaker.config.json'), 'utf8')) as {
    $schema?: string;
    models: { gate: { minImprovement: number }; retraining: { maxRunsPerDay: number }; evaluation?: { script?: string } }[];
  };
  delete config.$schema;
  for (const model of config.models) {
    model.gate.minImprovement = 0;
    model.retraining.maxRunsPerDay = 20;
    // Named relative to the config file, which moves to a temporary folder here.
    if (model.evaluation?.script !== undefined) model.evaluation.script = join(ROOT, model.evaluation.script);
  }
  const file = join(mkdtempSync(join(tmpdir(), 'caretaker-console-')), 'caretaker.config.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

export async function startDemoConsole(timeoutMs: number): Promise<DemoConsole> {
  const up: ChildProcessWithoutNullStreams = spawn(process.execPath, [join(ROOT, 'bin', 'caretaker.mjs'), 'demo', '--console', '--config', testConfig()], { cwd: ROOT, detached: true });
  const output: string[] = [];
  const found = await new Promise<{ console: string; api: string }>((resolve, reject) => {
    const seen: Record<string, string> = {};
    const timer = setTimeout(() => reject(new Error(`demo --console did not come up in ${timeoutMs / 1000} s:\n${output.slice(-30).join('\n')}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        output.push(line);
        const c = /^\s*Console\s+(http:\/\/\S+)/.exec(line);
        if (c?.[1]) seen.console = c[1];
        const a = /^\s*API\s+(http:\/\/\S+)/.exec(line);
        if (a?.[1]) seen.api = a[1];
        if (line.includes('Press Ctrl-C to stop') && seen.console && seen.api) {
          clearTimeout(timer);
          resolve({ console: seen.console, api: seen.api });
        }
      }
    };
    up.stdout.on('data', onData);
    up.stderr.on('data', onData);
    up.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`demo --console exited ${String(code)}:\n${output.slice(-30).join('\n')}`));
    });
  });
  return {
    consoleUrl: found.console,
    apiUrl: found.api,
    output,
    client: (principal) => new CaretakerClient({ baseUrl: found.api, local: { principal } }),
    stop: async () => {
      if (up.pid === undefined || up.exitCode !== null) return;
      const exited = new Promise((resolve) => up.once('exit', resolve));
      process.kill(-up.pid, 'SIGINT');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
      try {
        process.kill(-up.pid, 'SIGKILL'); // whatever of the group outlived SIGINT by 20 s
      } catch {
        // the group is gone
      }
    },
  };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 30_000,
  });
}

/** A fresh page (its own sessionStorage) signed in as one of the sample people. */
export async function signedIn(browser: Browser, consoleUrl: string, role: 'requester' | 'approver' | 'reader'): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(`${consoleUrl}#/signin`);
  await page.getByTestId(`signin-${role}`).click();
  await page.getByRole('heading', { name: 'Models' }).waitFor();
  return page;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Polls `probe` until it returns a value (every 500 ms, at most `ms`). */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
