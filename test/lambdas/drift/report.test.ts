/**
 * The drift report: report.json's document and the self-contained report.html rendered from it.
 * The page is checked against the document it was rendered from, feature by feature.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileReport } from '../../../cli/drift';
import { compareTables } from '../../../lambdas/drift/compare-tables';
import { reportDocument, type DriftReportDocument, type FeatureEntry } from '../../../lambdas/drift/report';
import { escapeHtml, formatNumber, formatPercent, renderReportHtml } from '../../../lambdas/drift/report-html';
import { parseTable } from '../../../lambdas/drift/table';

const FIXTURES = join(import.meta.dirname, '../../fixtures/drift');
const table = (name: string) => parseTable(name, readFileSync(join(FIXTURES, name)));

function shiftedReport(): DriftReportDocument {
  const report = compareTables(table('shifted/baseline.csv'), table('shifted/current.csv'), 0.2);
  return fileReport(report, { baseline: 'shifted/baseline.csv', current: 'shifted/current.csv', psiThreshold: 0.2 });
}

/** The HTML of one feature's section, by its data-feature attribute. */
function section(html: string, name: string): string {
  const start = html.indexOf(`<section class="feature" id="`);
  const sections = html.slice(start).split('<section class="feature"').slice(1);
  const found = sections.find((s) => s.includes(`data-feature="${escapeHtml(name)}"`));
  if (!found) throw new Error(`no section for ${name}`);
  return found.slice(0, found.indexOf('</section>'));
}

function summaryRow(html: string, name: string): string {
  const at = html.indexOf(`<tr data-feature="${escapeHtml(name)}"`);
  expect(at, `summary row of ${name}`).toBeGreaterThan(0);
  return html.slice(at, html.indexOf('</tr>', at));
}

const cell = (row: string, cls: string) => new RegExp(`<td class="${cls}">([^<]*)</td>`).exec(row)?.[1];

describe('drift report document', () => {
  it('lists drifted features first, by PSI, with every statistic, count and sample size', () => {
    const doc = shiftedReport();
    expect(doc).toMatchObject({ format: 'caretaker.drift-report/1', status: 'drifted', psiThreshold: 0.2, baseline: { rows: 2500 }, current: { records: 1800 } });
    const drifted = doc.features.filter((f) => f.drifted);
    expect(doc.features.slice(0, drifted.length)).toEqual(drifted);
    expect(doc.drifted).toEqual(drifted.map((f) => f.name));
    for (let i = 1; i < drifted.length; i++) expect(drifted[i - 1]!.psi).toBeGreaterThanOrEqual(drifted[i]!.psi);
    expect(doc.driftScore).toBe(Math.max(...doc.features.map((f) => f.psi)));
    const income = doc.features.find((f) => f.name === 'income') as FeatureEntry & { type: 'numeric' };
    // Exact counts: the current bins add up to the non-missing values, which with the missing ones make the rows.
    expect(income.distribution.current.reduce((a, b) => a + b, 0)).toBe(income.distribution.values.current);
    expect(income.distribution.values.current + Math.round(income.missingRate.current * 1800)).toBe(1800);
    expect(income.distribution.baseline).toHaveLength(income.distribution.edges.length + 1);
    const plan = doc.features.find((f) => f.name === 'plan') as FeatureEntry & { type: 'categorical' };
    expect(plan.distribution.categories.reduce((a, c) => a + c.baseline, 0)).toBe(Math.round(2500 * (1 - plan.missingRate.baseline)));
  });

  it('a window with too few records says so and marks nothing drifted, even where PSI is above the threshold', () => {
    const current = readFileSync(join(FIXTURES, 'shifted/current.csv'), 'utf8').split('\n').slice(0, 41).join('\n');
    const report = compareTables(table('shifted/baseline.csv'), parseTable('few.csv', Buffer.from(current)), 0.2);
    expect(report.drifted.length).toBeGreaterThan(0);
    const doc = reportDocument(report, { baseline: { location: 'b' }, current: { location: 'c' }, psiThreshold: 0.2, minRecords: 100 });
    expect(doc.status).toBe('too-few-records');
    expect(doc.drifted).toEqual([]);
    expect(doc.driftScore).toBeNull();
    expect(doc.features.every((f) => !f.drifted && f.smallSample)).toBe(true);
    expect(doc.warnings[0]).toMatch(/Only 40 records .*fewer than 100: too few to judge drift/);
    const html = renderReportHtml(doc);
    expect(html).toContain('data-status="too-few-records"');
    expect(html).toContain('Too few records to judge drift');
    expect(html).not.toContain('Drift detected');
  });
});

describe('drift report HTML', () => {
  const doc = shiftedReport();
  const html = renderReportHtml(doc);

  it('names every feature with a chart of one bar pair per bin or category', () => {
    for (const feature of doc.features) {
      const part = section(html, feature.name);
      expect(part).toContain(`<h2>${escapeHtml(feature.name)} `);
      expect(part).toMatch(/<svg class="chart"/);
      const bins = [...part.matchAll(/<g class="bin" data-baseline="([^"]+)" data-current="([^"]+)">/g)];
      const expected = feature.type === 'numeric' ? feature.distribution.baseline.length : feature.distribution.categories.length;
      expect(bins).toHaveLength(expected);
      expect(part.match(/<rect class="baseline"/g)).toHaveLength(expected);
      expect(part.match(/<rect class="current"/g)).toHaveLength(expected);
      if (feature.type === 'numeric') {
        // Bars in bin order: baseline shares as stored, current shares from the exact counts.
        const total = feature.distribution.current.reduce((a, b) => a + b, 0);
        bins.forEach((m, i) => {
          expect(Number(m[1])).toBe(feature.distribution.baseline[i]);
          expect(Number(m[2])).toBeCloseTo(feature.distribution.current[i]! / total, 12);
        });
      }
    }
  });

  it('loads nothing from the network: no scripts, links, external src/href, @import or url()', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<link/i);
    expect(html).not.toMatch(/<(img|iframe|object|embed)\b/i);
    expect(html).not.toMatch(/\b(src|href|xlink:href|action)\s*=\s*["']?\s*(https?:|\/\/|data:|file:)/i);
    expect(html).not.toMatch(/@import/i);
    expect(html).not.toMatch(/url\s*\(/i);
    expect(html).not.toMatch(/https?:\/\//i);
    // The only links are to the page's own sections.
    for (const [, target] of html.matchAll(/href="([^"]*)"/g)) expect(target).toMatch(/^#feature-\d+$/);
  });

  it('matches report.json: status, threshold, and every feature\'s statistics and missing rates', () => {
    expect(html).toContain(`data-status="${doc.status}"`);
    expect(html).toContain(`a feature drifts when its PSI is above ${formatNumber(doc.psiThreshold)}`);
    expect(html).toContain(`<dt>Drift score (largest PSI)</dt><dd>${formatNumber(doc.driftScore)}</dd>`);
    // Summary rows in the document's order: drifted first.
    const order = [...html.matchAll(/<tr data-feature="([^"]+)"/g)].map((m) => m[1]);
    expect(order).toEqual(doc.features.map((f) => escapeHtml(f.name)));
    for (const f of doc.features) {
      const row = summaryRow(html, f.name);
      expect(cell(row, 'psi')).toBe(formatNumber(f.psi));
      expect(cell(row, 'js')).toBe(formatNumber(f.jsDistance));
      const [statistic, pValue] = f.type === 'numeric' ? [f.ks.statistic, f.ks.pValue] : [f.chiSquare.statistic, f.chiSquare.pValue];
      expect(cell(row, 'statistic')).toBe(formatNumber(statistic));
      expect(cell(row, 'p-value')).toBe(formatNumber(pValue));
      expect(cell(row, 'missing')).toBe(`${formatPercent(f.missingRate.baseline)} → ${formatPercent(f.missingRate.current)}`);
      expect(row.includes('>drifted<')).toBe(f.drifted);
    }
  });

  it('escapes names from the data, so a column name cannot inject markup', () => {
    const csv = (rows: string[]) => Buffer.from(['"<img src=http://x/y>",plan', ...rows].join('\n'));
    const rows = Array.from({ length: 150 }, (_, i) => `${i % 17},${i % 3 === 0 ? '<b>pro</b>' : 'basic'}`);
    const report = compareTables(parseTable('a.csv', csv(rows)), parseTable('b.csv', csv(rows.slice(0, 120))), 0.2);
    const page = renderReportHtml(reportDocument(report, { baseline: { location: 'a.csv' }, current: { location: 'b.csv' }, psiThreshold: 0.2 }));
    expect(page).not.toContain('<img');
    expect(page).not.toContain('<b>pro</b>');
    expect(page).toContain('&lt;img src=http://x/y&gt;');
    expect(page).toContain('&lt;b&gt;pro&lt;/b&gt;');
  });

  it('formats numbers one way: plain to 4 significant digits, exponents for the very small', () => {
    expect([formatNumber(0.123456), formatNumber(2500), formatNumber(3.2e-58), formatNumber(null), formatNumber(Number.NaN), formatNumber(0)]).toEqual([
      '0.1235',
      '2500',
      '3.20e-58',
      '—',
      '—',
      '0',
    ]);
    expect(formatPercent(0.018)).toBe('1.8 %');
  });
});
