import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../../lambdas/api/openapi';
import { ROUTES } from '../../../lambdas/api/schemas';

const COMMITTED = join(import.meta.dirname, '..', '..', '..', 'openapi.json');

describe('OpenAPI document', () => {
  const generated = openApiDocument() as { paths: Record<string, Record<string, { requestBody?: unknown; parameters: { name: string; in: string }[] }>> };

  it('is committed exactly as generated (run `npx tsx scripts/write-openapi.ts` after changing a route)', () => {
    expect(JSON.parse(readFileSync(COMMITTED, 'utf8'))).toEqual(generated);
  });

  it('documents every route, its path parameters and its body', () => {
    for (const route of ROUTES) {
      const operation = generated.paths[route.path]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.path}`).toBeDefined();
      for (const match of route.path.matchAll(/\{([^}]+)\}/g)) {
        expect(operation!.parameters).toContainEqual(expect.objectContaining({ name: match[1], in: 'path' }));
      }
      expect(operation!.requestBody !== undefined).toBe(route.body !== undefined);
    }
  });
});
