/** Writes `caretaker.config.schema.json` from the zod schema in lib/config.ts. */
import { writeFileSync } from 'node:fs';
import { configJsonSchema } from '../lib/config';

writeFileSync('caretaker.config.schema.json', `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
