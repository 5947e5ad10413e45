import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * README's "where things live" table names every Lambda entry: each `lambdas/**\/*.handler.ts`
 * file and each `entry:` a construct in lib/constructs/ bundles (some entries are `handler.ts`).
 * Read as text, no synth: a new function without a row fails here with its path.
 */
const ROOT = join(import.meta.dirname, '..', '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const table = readme.slice(readme.indexOf('| part | where |'), readme.indexOf('## Configuring models'));

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

const handlerFiles = filesUnder(join(ROOT, 'lambdas'))
  .filter((f) => f.endsWith('.handler.ts'))
  .map((f) => relative(ROOT, f));
const constructEntries = filesUnder(join(ROOT, 'lib', 'constructs'))
  .filter((f) => f.endsWith('.ts'))
  .flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/entry: '([^']+\.ts)'/g)].map((m) => `lambdas/${m[1]}`));

describe("README's table of where things live", () => {
  it('finds the entries to check (the scan itself works)', () => {
    expect(handlerFiles).toContain('lambdas/pipeline/steps.handler.ts');
    expect(constructEntries).toContain('lambdas/api/handler.ts');
  });

  it('lists every Lambda entry', () => {
    const missing = [...new Set([...handlerFiles, ...constructEntries])].filter((entry) => !table.includes(`\`${entry}\``)).sort();
    expect(missing, 'entries missing from the table in README "How it fits together"').toEqual([]);
  });
});
