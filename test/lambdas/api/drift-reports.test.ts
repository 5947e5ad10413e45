/**
 * The drift report routes against moto's S3: windows newest first across months, paged; one
 * window's report.json checked against its schema. The reports are the analyzer's own documents
 * (reportDocument over the drift fixtures), written where the analyzer writes them
 * (driftReportKeys.window).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareTables } from '../../../lambdas/drift/compare-tables';
import { reportDocument, type DriftReportDocument } from '../../../lambdas/drift/report';
import { parseTable } from '../../../lambdas/drift/table';
import { driftReportKeys } from '../../../lambdas/shared/layout';
import { APPROVER, apiEvent, bodyOf, createHarness, type Harness } from './harness';

const FIXTURES = join(import.meta.dirname, '../../fixtures/drift');
const table = (name: string) => parseTable(name, readFileSync(join(FIXTURES, name)));

function report(end: Date): DriftReportDocument {
  const compared = compareTables(table('shifted/baseline.csv'), table('shifted/current.csv'), 0.2);
  return reportDocument(compared, {
    model: 'churn',
    window: { start: new Date(end.getTime() - 15 * 60_000), end },
    baseline: { version: 3, location: 's3://artifacts/baselines/churn/3/baseline.json' },
    current: { location: 's3://artifacts/capture/churn/' },
    psiThreshold: 0.2,
    generatedAt: new Date(end.getTime() + 60_000),
  });
}

describe('drift report routes', () => {
  let h: Harness;
  // Two windows in November, three in December (2026), and one in January 2027: the listing walks months back.
  const ends = ['2026-11-29T23:45:00Z', '2026-11-30T23:45:00Z', '2026-12-01T00:00:00Z', '2026-12-03T10:15:00Z', '2026-12-03T10:30:00Z', '2027-01-02T08:00:00Z'].map((at) => new Date(at));
  const ids = ends.map((end) => driftReportKeys.windowId(end));
  const newestFirst = [...ids].reverse();

  beforeAll(async () => {
    h = await createHarness();
    for (const end of ends) {
      const keys = driftReportKeys.window('churn', end);
      await h.s3.send(new PutObjectCommand({ Bucket: h.bucket, Key: keys.json, Body: JSON.stringify(report(end)), ContentType: 'application/json' }));
      await h.s3.send(new PutObjectCommand({ Bucket: h.bucket, Key: keys.html, Body: '<!doctype html>', ContentType: 'text/html' }));
    }
    // What else the analyzer keeps beside the windows, which the listing must not take for one.
    await h.s3.send(new PutObjectCommand({ Bucket: h.bucket, Key: driftReportKeys.latest('churn'), Body: '{}' }));
    // A report that is not one (hand-edited, or another format).
    await h.s3.send(new PutObjectCommand({ Bucket: h.bucket, Key: driftReportKeys.window('fraud', ends[0]!).json, Body: JSON.stringify({ format: 'caretaker.drift-report/1', features: 'none' }) }));
  });
  afterAll(async () => {
    await h.drop();
  });

  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- tests name the shape they expect
  const get = async <T,>(path: string, query?: Record<string, string>) => {
    const result = await h.handler(apiEvent('GET', path, { principal: APPROVER, ...(query ? { query } : {}) }));
    return { status: result.statusCode, body: bodyOf<T>(result) };
  };

  it('lists the windows newest first, paged across month boundaries, with a token only while older ones exist', async () => {
    const pages: string[][] = [];
    let nextToken: string | undefined;
    do {
      const { status, body } = await get<{ items: string[]; nextToken?: string }>('/models/churn/drift/reports', { limit: '2', ...(nextToken ? { nextToken } : {}) });
      expect(status).toBe(200);
      pages.push(body.items);
      nextToken = body.nextToken;
    } while (nextToken !== undefined && pages.length < 10);
    expect(pages).toEqual([newestFirst.slice(0, 2), newestFirst.slice(2, 4), newestFirst.slice(4, 6)]);
    const all = await get<{ items: string[]; nextToken?: string }>('/models/churn/drift/reports');
    expect(all.body).toEqual({ items: newestFirst });
  });

  it('answers an empty list for a model with no reports yet', async () => {
    // fraud has one unreadable report in November only; the listing still names it (reading it fails).
    expect((await get<{ items: string[] }>('/models/fraud/drift/reports')).body).toEqual({ items: [ids[0]] });
    const fresh = await createHarness();
    try {
      const result = await fresh.handler(apiEvent('GET', '/models/churn/drift/reports', { principal: APPROVER }));
      expect(result.statusCode).toBe(200);
      expect(bodyOf(result)).toEqual({ items: [] });
    } finally {
      await fresh.drop();
    }
  });

  it('returns one window\'s report.json as the analyzer wrote it, with every feature\'s histogram', async () => {
    const { status, body } = await get<{ model: string; window: string; report: DriftReportDocument }>(`/models/churn/drift/reports/${ids[3]!}`);
    expect(status).toBe(200);
    expect(body.window).toBe(ids[3]);
    expect(body.report).toEqual(JSON.parse(JSON.stringify(report(ends[3]!))) as unknown);
    const types = body.report.features.map((f) => f.type);
    expect(types).toContain('numeric');
    expect(types).toContain('categorical');
  });

  it('refuses a crafted page token or window id with 400 naming it, and a window without a report with 404', async () => {
    const token = await get<{ error: string; details: { field: string }[] }>('/models/churn/drift/reports', { nextToken: 'eyJwayI6IngifQ' });
    expect(token.status).toBe(400);
    expect(token.body.details[0]?.field).toBe('query.nextToken');
    const window = await get<{ error: string; details: { field: string }[] }>('/models/churn/drift/reports/latest.json');
    expect(window.status).toBe(400);
    expect(window.body.details[0]?.field).toBe('path.window');
    const missing = await get<{ error: string; message: string }>('/models/churn/drift/reports/20200101T000000Z');
    expect(missing).toEqual({ status: 404, body: { error: 'NotFound', message: 'churn has no drift report for 20200101T000000Z', details: [{ field: 'path.window', message: 'no report' }] } });
    expect((await get('/models/nope/drift/reports')).status).toBe(404);
  });

  it('does not pass on a report that is not one: 500 with no detail, nothing of the object shown', async () => {
    const { status, body } = await get(`/models/fraud/drift/reports/${ids[0]!}`);
    expect(status).toBe(500);
    expect(body).toEqual({ error: 'Internal', message: 'internal error' });
  });
});
