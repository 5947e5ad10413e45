/**
 * The console in headless Chromium against `caretaker demo --console`: the loop has run (two
 * versions live in turn, drift analysed and alarmed, decisions audited) and the stack stays up.
 * Each test signs in as one of local mode's sample people through the console's own "sign in
 * as" page and checks what the page shows against what the API says.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config';
import { APPROVAL_REJECTED_ERROR } from '../../lambdas/shared/approval';
import { APPROVER, READER, REQUESTER } from '../../local/principals';
import { type DemoConsole, launchChromium, ROOT, screenshot, signedIn, startDemoConsole, waitFor } from './browser';

const MODEL = 'churn';
let demo: DemoConsole;
let browser: Browser;
/** Set once beforeAll got that far (it may fail before). */
let started: { demo?: DemoConsole; browser?: Browser } = {};
let pending: number | undefined;

/** A retraining run as the requester; resolves with its version once that waits for approval. */
async function newPendingVersion(reason: string): Promise<number> {
  const bob = demo.client(REQUESTER);
  const { runId } = await bob.retrain(MODEL, { reason, idempotencyKey: `console-${reason.replace(/\W+/g, '-')}-${Date.now()}` });
  let last = 'not yet read';
  return waitFor(`run ${runId} to wait for approval`, async () => {
    const run = await bob.getRun(runId);
    last = `run ${run.status}`;
    if (run.status === 'QUEUED') return undefined; // the starter has not started it yet
    if (run.status !== 'RUNNING') throw new Error(`run ${runId} ended ${run.status}`);
    if (run.version === undefined) return undefined;
    const status = (await bob.getVersion(MODEL, run.version)).status;
    last += `, version ${run.version} ${status}`;
    return status === 'PENDING_APPROVAL' ? run.version : undefined;
  }, 240_000).catch((error: unknown) => {
    throw new Error(`${(error as Error).message} (last seen: ${last})`);
  });
}

/** The version waiting for approval (one run at a time per model: reuse it until it is decided). */
async function pendingVersion(): Promise<number> {
  if (pending !== undefined && (await demo.client(REQUESTER).getVersion(MODEL, pending)).status === 'PENDING_APPROVAL') return pending;
  pending = await newPendingVersion('console test');
  return pending;
}

describe('the console in a browser', () => {
  beforeAll(async () => {
    const launching = launchChromium().then((b) => (started.browser = b));
    const starting = startDemoConsole(240_000).then((d) => (started.demo = d));
    [browser, demo] = await Promise.all([launching, starting]);
  }, 300_000);

  afterAll(async () => {
    await started.browser?.close();
    await started.demo?.stop();
    started = {};
  }, 60_000);

  it('shows the requester the approve button disabled, with the reason', async () => {
    const version = await pendingVersion();
    const page = await signedIn(browser, demo.consoleUrl, 'requester');
    await page.goto(`${demo.consoleUrl}#/models/${MODEL}/versions/${version}`);
    await page.getByTestId('decision-refusal').waitFor();
    expect(await page.getByTestId('approve').isDisabled()).toBe(true);
    expect(await page.getByTestId('reject').isDisabled()).toBe(true);
    expect(await page.getByTestId('decision-refusal').textContent()).toContain('the principal who requested the run may not decide on its version');
    expect(await page.getByTestId('who').textContent()).toContain('bob');
    // The version is still pending: the page refused nothing by itself.
    expect((await demo.client(REQUESTER).getVersion(MODEL, version)).status).toBe('PENDING_APPROVAL');
    await screenshot(page, 'version-requester');
  }, 300_000);

  it('shows a reader (read-only grant) the buttons disabled with the IAM refusal', async () => {
    const version = await pendingVersion();
    const page = await signedIn(browser, demo.consoleUrl, 'reader');
    await page.goto(`${demo.consoleUrl}#/models/${MODEL}/versions/${version}`);
    await page.getByTestId('decision-refusal').waitFor();
    expect(await page.getByTestId('approve').isDisabled()).toBe(true);
    expect(await page.getByTestId('decision-refusal').textContent()).toContain(`User: ${READER} is not authorized to perform: execute-api:Invoke`);
    // What the page says is what the API does: the reader's approve is refused too.
    await expect(demo.client(READER).approve(MODEL, version, 'reader tries')).rejects.toMatchObject({ status: 403, code: 'AccessDeniedException' });
    await screenshot(page, 'version-reader');
  }, 300_000);

  it('lets the approver approve with a reason: the version goes LIVE and the audit names the approver', async () => {
    const version = await pendingVersion();
    const page = await signedIn(browser, demo.consoleUrl, 'approver');
    await page.goto(`${demo.consoleUrl}#/models/${MODEL}/versions/${version}`);
    await page.getByTestId('evaluation').getByText('champion').first().waitFor();
    await page.getByTestId('lineage').getByTestId('dataset-objects').waitFor();
    expect(await page.getByTestId('approve').isDisabled()).toBe(true); // no reason typed yet
    const reason = `auc holds on the same holdout (${version})`;
    await page.getByTestId('reason').fill(reason);
    expect(await page.getByTestId('approve').isEnabled()).toBe(true);
    await page.getByTestId('expiry').waitFor();
    await screenshot(page, 'version-approver');
    if (process.env.CARETAKER_UPDATE_DOCS_SCREENSHOT === '1') copyFileSync(join(ROOT, 'artifacts', 'console', 'version-approver.png'), join(ROOT, 'docs', 'console-version.png'));
    await page.getByTestId('approve').click();
    await page.getByTestId('decision-result').waitFor();
    expect(await page.getByTestId('decision-result').textContent()).toContain('APPROVED by alice');
    // The page follows the deployment until the version is LIVE.
    await page.locator('h1 [data-testid=status]', { hasText: 'LIVE' }).waitFor({ timeout: 120_000 });
    const record = await demo.client(REQUESTER).getVersion(MODEL, version);
    expect(record.status).toBe('LIVE');
    expect(record.decision).toMatchObject({ decision: 'APPROVED', by: APPROVER, reason });

    await page.goto(`${demo.consoleUrl}#/audit?model=${MODEL}`);
    const row = page.locator(`[data-testid=audit] tr[data-type=APPROVED]`, { hasText: reason });
    await row.waitFor();
    expect(await row.getByTestId('actor').textContent()).toBe('alice (ml-lead)');
    expect(await row.getByTestId('actor').getAttribute('title')).toBe(APPROVER);
    await screenshot(page, 'audit');
  }, 240_000);

  it('lets the approver reject with a reason: the version is REJECTED and its run ends REJECTED', async () => {
    const version = await pendingVersion();
    const page = await signedIn(browser, demo.consoleUrl, 'approver');
    await page.goto(`${demo.consoleUrl}#/models/${MODEL}/versions/${version}`);
    await page.getByTestId('reason').fill('same data as the champion: nothing to gain');
    await page.getByTestId('reject').click();
    await page.getByTestId('decision-result').waitFor();
    expect(await page.getByTestId('decision-result').textContent()).toContain('REJECTED by alice');
    await page.locator('h1 [data-testid=status]', { hasText: 'REJECTED' }).waitFor();
    expect(await page.getByTestId('decided').textContent()).toContain('same data as the champion');
    const record = await demo.client(REQUESTER).getVersion(MODEL, version);
    expect(record.status).toBe('REJECTED');
    // The run's timeline shows how it ended.
    const runId = record.runId;
    await waitFor(`run ${runId} to end`, async () => ((await demo.client(REQUESTER).getRun(runId)).status === 'RUNNING' ? undefined : true));
    await page.goto(`${demo.consoleUrl}#/runs/${runId}`);
    await page.getByTestId('timeline').getByText('ended REJECTED').waitFor();
    // The execution's states (GET /runs/{runId}/timeline): the approval task failed with the
    // rejection and its Catch moved on to record it.
    const approval = page.locator('[data-testid=states] tr[data-state=WaitForApproval]');
    await approval.waitFor();
    expect(await approval.textContent()).toContain('caught');
    expect(await approval.getByTestId('state-error').textContent()).toContain(APPROVAL_REJECTED_ERROR);
    for (const phase of ['started', 'training', 'evaluation', 'waiting for approval']) await page.locator(`[data-testid=phases] [data-phase="${phase}"]`).waitFor();
    expect(await page.locator('[data-testid=states] tr[data-state=Rejected]').count()).toBe(1);
    await screenshot(page, 'run-rejected');
  }, 240_000);

  it('draws a drift chart for every feature, and shows the alarm the demo raised', async () => {
    const features = loadConfig(join(ROOT, 'caretaker.config.json')).models[0]!.dataset.columns!.map((c) => c.name).filter((name) => name !== 'churned');
    const page = await signedIn(browser, demo.consoleUrl, 'reader');
    await page.goto(`${demo.consoleUrl}#/models/${MODEL}/drift`);
    await page.getByTestId('feature-chart').first().waitFor();
    const charts = page.getByTestId('feature-chart');
    expect((await charts.locator('figcaption').allTextContents()).sort()).toEqual([...features].sort());
    // Each chart has points (the analyzer's EMF metrics, extracted into CloudWatch), not the empty note.
    for (let i = 0; i < features.length; i += 1) {
      expect(await charts.nth(i).locator('svg [data-series=PSI] circle').count()).toBeGreaterThan(0);
      expect(await charts.nth(i).getByTestId('chart-empty').count()).toBe(0);
    }
    expect(await page.getByTestId('alarm').getByTestId('status').textContent()).toBe('ALARM');
    expect(await page.getByRole('link', { name: 'Runbook: drift alarm' }).getAttribute('href')).toContain('README.md#runbook-drift-alarm');
    await screenshot(page, 'drift');
  }, 120_000);

  it('draws baseline vs current histograms for every feature from the newest report the analyzer wrote', async () => {
    const features = loadConfig(join(ROOT, 'caretaker.config.json')).models[0]!.dataset.columns!.map((c) => c.name).filter((name) => name !== 'churned');
    // The demo's analyzer (the real one, in local mode) wrote these windows' report.json to the artifacts bucket.
    const carol = demo.client(READER);
    const { items } = await carol.listDriftReports(MODEL);
    expect(items.length).toBeGreaterThan(0);
    const newest = await carol.getDriftReport(MODEL, items[0]!);
    expect(newest.report.features.map((f) => f.name).sort()).toEqual([...features].sort());

    const page = await signedIn(browser, demo.consoleUrl, 'reader');
    await page.goto(`${demo.consoleUrl}#/models/${MODEL}/drift`);
    await page.getByTestId('feature-histogram').first().waitFor();
    expect(await page.getByTestId('report-window').inputValue()).toBe(items[0]);
    const histograms = page.getByTestId('feature-histogram');
    expect((await histograms.locator('figcaption').allTextContents()).sort()).toEqual([...features].sort());
    for (const feature of newest.report.features) {
      const chart = page.locator(`[data-testid=feature-histogram][data-feature="${feature.name}"]`);
      // One bar per side per bin (numeric: edges + 1 bins) or category, as report.json has them.
      const bins = feature.type === 'numeric' ? feature.distribution.edges.length + 1 : feature.distribution.categories.length;
      expect(await chart.locator('svg rect[data-series=baseline]').count(), feature.name).toBe(bins);
      expect(await chart.locator('svg rect[data-series=current]').count(), feature.name).toBe(bins);
      expect(await chart.textContent()).toContain(`PSI ${feature.psi.toFixed(3)}`);
    }
    expect(await page.getByTestId('report-summary').getByTestId('status').textContent()).toBe(newest.report.status.toUpperCase().replace(/-/g, '_'));
    await screenshot(page, 'drift-histograms');
  }, 120_000);

  it('shows the live version\'s run as its execution\'s phases through live, with each state\'s duration', async () => {
    const bob = demo.client(REQUESTER);
    const { live } = await bob.getModel(MODEL);
    expect(live).toBeDefined();
    const timeline = await bob.getRunTimeline(live!.runId);
    const page = await signedIn(browser, demo.consoleUrl, 'reader');
    await page.goto(`${demo.consoleUrl}#/runs/${live!.runId}`);
    await page.getByTestId('phases').waitFor();
    const items = page.locator('[data-testid=phases] [data-phase]');
    const phases: (string | null)[] = [];
    for (let i = 0; i < (await items.count()); i += 1) phases.push(await items.nth(i).getAttribute('data-phase'));
    expect(phases).toEqual(timeline.phases.map((p) => p.phase));
    expect(phases).toEqual(expect.arrayContaining(['started', 'training', 'evaluation', 'waiting for approval', 'deploying', 'live']));
    expect(await page.locator('[data-testid=states] tbody tr').count()).toBe(timeline.states.length);
    expect(await page.locator('[data-testid=states] tr[data-state=Deployed]').textContent()).toContain('succeeded');
    expect(await page.getByTestId('execution').textContent()).not.toContain('local-token');
    await screenshot(page, 'run-timeline');
  }, 60_000);

  it('shows API errors on the page instead of a blank page', async () => {
    const page = await signedIn(browser, demo.consoleUrl, 'reader');
    await page.goto(`${demo.consoleUrl}#/models/${MODEL}/versions/999999`);
    const error = page.getByTestId('api-error');
    await error.waitFor();
    expect(await error.textContent()).toContain('404 NotFound');
    expect(await error.textContent()).toContain(`${MODEL} has no version 999999`);
    // A failing dependency (503 from the API) on the models page.
    await page.route('**/v1/models', (route) =>
      route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: 'Unavailable', message: 'a dependency is unavailable; nothing was changed, retry' }) }),
    );
    await page.goto(`${demo.consoleUrl}#/models`);
    await page.reload();
    await error.waitFor();
    expect(await error.textContent()).toContain('503 Unavailable');
    await screenshot(page, 'api-error');
    // The run page keeps the run and shows the timeline route's failure where the timeline would be.
    const { live } = await demo.client(REQUESTER).getModel(MODEL);
    await page.route('**/v1/runs/*/timeline', (route) =>
      route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: 'Unavailable', message: 'a dependency is unavailable; nothing was changed, retry' }) }),
    );
    await page.goto(`${demo.consoleUrl}#/runs/${live!.runId}`);
    await page.getByTestId('timeline').waitFor();
    await error.waitFor();
    expect(await error.textContent()).toContain('The execution history could not be read');
    expect(await error.textContent()).toContain('503 Unavailable');
  }, 60_000);
});
