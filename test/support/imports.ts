/**
 * The repository's import graph, read from source with TypeScript's own pre-processor
 * (`ts.preProcessFile`: static imports, `export … from`, `import()` and `require()`, type-only
 * imports included). Used by the dependency and layering tests.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
const SOURCE_EXTENSIONS = ['.ts', '.mts', '.cts', '.tsx', '.js', '.mjs', '.cjs'];
const SKIP_DIRS = new Set(['node_modules', 'cdk.out', '.bench', '.local', 'coverage', 'results', 'dist']);

export interface SourceImport {
  /** The specifier as written (`'../lib/config'`, `'zod'`). */
  readonly specifier: string;
  /** 1-based line of the import. */
  readonly line: number;
  /** Repository-relative path (posix separators) of the file a relative import resolves to. */
  readonly resolved?: string;
}

export interface SourceFile {
  /** Repository-relative path with posix separators (`lambdas/api/handler.ts`). */
  readonly path: string;
  readonly imports: readonly SourceImport[];
}

function posix(path: string): string {
  return path.split(sep).join('/');
}

function walk(dir: string, out: string[]): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name) && !entry.name.startsWith('.')) walk(join(dir, entry.name), out);
    } else if (SOURCE_EXTENSIONS.some((ext) => entry.name.endsWith(ext)) && !entry.name.endsWith('.d.ts')) {
      out.push(join(dir, entry.name));
    }
  }
}

/** Resolves a relative specifier the way `moduleResolution: bundler` does for this repository. */
function resolveRelative(fromFile: string, specifier: string): string | undefined {
  const base = resolve(dirname(fromFile), specifier);
  const stem = base.replace(/\.(m|c)?js$/, '');
  const candidates = [
    base,
    ...SOURCE_EXTENSIONS.map((ext) => `${stem}${ext}`),
    ...SOURCE_EXTENSIONS.map((ext) => join(base, `index${ext}`)),
  ];
  const found = candidates.find((c) => existsSync(c) && statSync(c).isFile());
  return found && posix(relative(REPO_ROOT, found));
}

/** Every source file under the given top-level directories (repository-relative), with its imports. */
export function readSources(dirs: readonly string[]): SourceFile[] {
  const files: string[] = [];
  for (const dir of dirs) walk(join(REPO_ROOT, dir), files);
  return readSourceFiles(files);
}

/** The given files (absolute or repository-relative) with their imports. */
export function readSourceFiles(paths: readonly string[]): SourceFile[] {
  return paths.map((p) => resolve(REPO_ROOT, p)).sort().map((file) => {
    const text = readFileSync(file, 'utf8');
    const info = ts.preProcessFile(text, true, true);
    const imports = info.importedFiles.map(({ fileName, pos }) => {
      const line = text.slice(0, pos).split('\n').length;
      const resolved = fileName.startsWith('.') ? resolveRelative(file, fileName) : undefined;
      return resolved ? { specifier: fileName, line, resolved } : { specifier: fileName, line };
    });
    return { path: posix(relative(REPO_ROOT, file)), imports };
  });
}

/** `@scope/name/deep/path` → `@scope/name`; `name/deep` → `name`; relative and `node:` specifiers → undefined. */
export function packageName(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}
