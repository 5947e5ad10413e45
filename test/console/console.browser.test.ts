/**
 * The console in headless Chromium against `caretaker demo --console`: the loop has run (two
 * versions live in turn, drift analysed, decisions audited) and the stack stays up. Each test
 * signs in as one of local mode's sample people through the console's own "sign in as" page.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REQUESTER } from '../../local/principals';
import { type DemoConsole, launchChromium, screenshot, signedIn, startDemoConsole, waitFor } from './browser';

const MODEL = 'churn';
let demo: DemoConsole;
let browser: Browser;

/** A retraining run as the requester; resolves with its version once that waits for approval. */
async function pendingVersion(reason: string): Promise<number> {
  const bob = demo.client(REQUESTER);
  const { runId } = await bob.retrain(MODEL, { reason, idempotencyKey: `console-${reason.replace(/\W+/g, '-')}-${Date.now()}` });
  return waitFor(`run ${runId} to wait for approval`, async () => {
    const run = await bob.getRun(runId);
    if (run.status !== 'RUNNING') throw new Error(`run ${runId} ended ${run.status}`);
    if (run.version === undefined) return undefined;
    return (await bob.getVersion(MODEL, run.version)).status === 'PENDING_APPROVAL' ? run.version : undefined;
  });
}

describe('the console in a browser', () => {
  beforeAll(async () => {
    [demo, browser] = await Promise.all([startDemoConsole(240_000), launchChromium()]);
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
  }, 60_000);

  it('shows the requester the approve button disabled, with the reason', async () => {
    const version = await pendingVersion('requester view');
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
  }, 180_000);
});
