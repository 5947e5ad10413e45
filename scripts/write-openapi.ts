/** Writes `openapi.json` from the registry API's route table (`npx tsx scripts/write-openapi.ts`). */
import { writeFileSync } from 'node:fs';
import { openApiDocument } from '../lambdas/api/openapi';

writeFileSync('openapi.json', `${JSON.stringify(openApiDocument(), null, 2)}\n`);
