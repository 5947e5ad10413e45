import { describe, expect, it } from 'vitest';
import { readSources, type SourceFile } from '../support/imports';

/**
 * Layers point down (../shared/STYLE.md, "Seams"): `cli/` and `bin/` are applications on top and
 * may use everything below; `local/` runs the stack on one machine from `lib/` and `lambdas/`;
 * `lib/` is synth-time code (constructs, config, the client); `lambdas/` is the runtime and
 * stands alone. An import that runs up, or a circle of imports, fails here with file and line.
 */
const LAYERED_DIRS = ['lambdas', 'lib', 'local', 'cli', 'bin', 'console'];

/** [importer prefix, forbidden target prefix, why]. Prefixes are repository-relative paths. */
const FORBIDDEN: readonly (readonly [string, string, string])[] = [
  ['lambdas/', 'lib/', 'handlers never import synth-time code'],
  ['lambdas/', 'local/', 'handlers never import local mode'],
  ['lambdas/', 'cli/', 'handlers never import the CLI'],
  ['lambdas/', 'bin/', 'handlers never import entry points'],
  ['lib/', 'local/', 'synth-time code never imports local mode'],
  ['lib/', 'cli/', 'synth-time code never imports the CLI'],
  ['lib/', 'bin/', 'synth-time code never imports entry points'],
  ['local/', 'cli/', 'local mode never imports the CLI'],
  ['local/', 'lib/cli/', 'local mode never imports the CLI'],
  ['local/', 'bin/', 'local mode never imports entry points'],
  ['console/', 'lambdas/', 'the console runs in a browser and talks to the API only, through lib/client'],
  ['console/', 'local/', 'the console is the same build in AWS and locally'],
  ['console/', 'cli/', 'the console runs in a browser'],
  ['console/', 'bin/', 'the console runs in a browser'],
  ['console/', 'lib/constructs/', 'the console runs in a browser'],
  ['console/', 'lib/client/index', 'lib/client/index adds the Node credential chain: the browser uses lib/client/core'],
  ['lib/', 'console/', 'synth-time code never imports the console\'s sources (the hosting construct deploys its build)'],
  ['lambdas/', 'console/', 'handlers never import the console'],
];

/**
 * Imports that break a rule today and are being fixed, each with why. Remove an entry when the
 * fix lands; the last test fails on an entry that no longer matches anything.
 */
const KNOWN_EXCEPTIONS: readonly string[] = [];

const sources = readSources(LAYERED_DIRS);

function upwardImports(files: readonly SourceFile[]): string[] {
  const found: string[] = [];
  for (const file of files) {
    for (const { resolved, line, specifier } of file.imports) {
      if (!resolved) continue;
      for (const [from, to, why] of FORBIDDEN) {
        if (file.path.startsWith(from) && resolved.startsWith(to)) found.push(`${file.path}:${line} imports '${specifier}' (${why})`);
      }
    }
  }
  return found;
}

/** Strongly connected components of more than one file (or a file importing itself): Tarjan's algorithm. */
function importCycles(files: readonly SourceFile[]): string[][] {
  const edges = new Map(files.map((f) => [f.path, [...new Set(f.imports.flatMap((i) => (i.resolved ? [i.resolved] : [])))]]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next);
    next += 1;
    stack.push(node);
    onStack.add(node);
    for (const to of edges.get(node) ?? []) {
      if (!edges.has(to)) continue;
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node)!, index.get(to)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (edges.get(node) ?? []).includes(node)) cycles.push(component.sort());
    }
  };
  for (const node of edges.keys()) if (!index.has(node)) visit(node);
  return cycles;
}

describe('layering', () => {
  it('reads the import graph (the rules below see real imports)', () => {
    const handler = sources.find((f) => f.path === 'lambdas/api/handler.ts');
    expect(handler?.imports.some((i) => i.resolved?.startsWith('lambdas/'))).toBe(true);
    expect(sources.some((f) => f.path.startsWith('lib/constructs/') && f.imports.some((i) => i.resolved?.startsWith('lambdas/shared/')))).toBe(true);
  });

  it('has no import that runs from a lower layer to a higher one', () => {
    expect(upwardImports(sources).filter((v) => !KNOWN_EXCEPTIONS.some((e) => v.startsWith(e)))).toEqual([]);
  });

  it('has no import circle', () => {
    expect(importCycles(sources)).toEqual([]);
  });

  it('catches an upward import and a circle when one is there', () => {
    const planted: SourceFile[] = [
      { path: 'lambdas/x.ts', imports: [{ specifier: '../lib/config', line: 3, resolved: 'lib/config.ts' }] },
      { path: 'lib/config.ts', imports: [{ specifier: './a', line: 1, resolved: 'lib/a.ts' }] },
      { path: 'lib/a.ts', imports: [{ specifier: './config', line: 1, resolved: 'lib/config.ts' }] },
      { path: 'local/y.ts', imports: [{ specifier: '../lib/cli/local', line: 7, resolved: 'lib/cli/local.ts' }] },
    ];
    expect(upwardImports(planted)).toEqual([
      "lambdas/x.ts:3 imports '../lib/config' (handlers never import synth-time code)",
      "local/y.ts:7 imports '../lib/cli/local' (local mode never imports the CLI)",
    ]);
    expect(importCycles(planted)).toEqual([['lib/a.ts', 'lib/config.ts']]);
  });

  it('lists only exceptions that still match an import', () => {
    const violations = upwardImports(sources);
    expect(KNOWN_EXCEPTIONS.filter((e) => !violations.some((v) => v.startsWith(e)))).toEqual([]);
  });
});
