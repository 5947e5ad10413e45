import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageName, readSourceFiles, readSources, REPO_ROOT } from '../support/imports';

/** Every directory that holds code the project runs: handlers, synth, local mode, CLI, tools, tests, the console. */
const SOURCE_DIRS = ['lambdas', 'lib', 'local', 'bin', 'cli', 'bench', 'scripts', 'test', 'examples', 'console'];

/**
 * Runtime dependencies listed ahead of the code that imports them, each with why. Keep this
 * short and remove an entry as soon as the import lands.
 */
const PENDING: Readonly<Record<string, string>> = {};

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const sources = readSources(SOURCE_DIRS);
const importers = new Map<string, string[]>();
for (const file of [...sources, ...readRootConfigs()]) {
  for (const { specifier, line } of file.imports) {
    const name = packageName(specifier);
    if (!name || builtinModules.includes(name)) continue;
    importers.set(name, [...(importers.get(name) ?? []), `${file.path}:${line}`]);
  }
}

/** eslint.config.js, vitest.config.ts: tooling at the repository root. */
function readRootConfigs() {
  return readSourceFiles(readdirSync(REPO_ROOT).filter((f) => /\.(ts|js|mjs)$/.test(f)));
}

describe('package.json dependencies', () => {
  it('lists no runtime dependency that no source file imports', () => {
    const unused = Object.keys(pkg.dependencies).filter((name) => !importers.has(name) && !(name in PENDING));
    expect(unused, `dependencies nothing under ${SOURCE_DIRS.join(', ')} imports`).toEqual([]);
  });

  it('keeps its pending list to packages still listed', () => {
    expect(Object.keys(PENDING).filter((name) => !(name in pkg.dependencies))).toEqual([]);
  });

  it('declares every package the code imports', () => {
    const declared = new Set([...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)]);
    // `import type … from 'aws-lambda'` is served by @types/aws-lambda; nothing of it is bundled.
    const provided = (name: string) => declared.has(name) || declared.has(`@types/${name.replace(/^@/, '').replace('/', '__')}`);
    const undeclared = [...importers.entries()].filter(([name]) => !provided(name)).map(([name, where]) => `${name} (${where[0]})`);
    expect(undeclared).toEqual([]);
  });
});
