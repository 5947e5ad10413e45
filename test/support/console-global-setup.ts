/**
 * Builds the console (`vite build`, console/vite.config.ts) before the tests when the build is
 * missing or older than its sources, so a fresh clone's `npm test` serves a current console from
 * `caretaker local up` and the browser tests drive what the sources say.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'vite';

const ROOT = join(import.meta.dirname, '..', '..');
const SOURCES = [join(ROOT, 'console', 'src'), join(ROOT, 'console', 'index.html'), join(ROOT, 'console', 'vite.config.ts'), join(ROOT, 'lib', 'client')];
const BUILT = join(ROOT, 'console', 'dist', 'index.html');

function newest(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((entry) => newest(join(path, entry))));
}

export default async function setup(): Promise<void> {
  if (existsSync(BUILT) && statSync(BUILT).mtimeMs >= Math.max(...SOURCES.map(newest))) return;
  await build({ configFile: join(ROOT, 'console', 'vite.config.ts'), logLevel: 'warn' });
}
