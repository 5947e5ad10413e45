/**
 * Writes the churn data set as CSV files:
 *
 *   tsx examples/churn/src/generate.ts --out <dir> [--rows 5000] [--seed 7] [--batch baseline|drifted]
 *
 * Produces `<dir>/train.csv` (80 %) and `<dir>/validation.csv` (20 %) from one seeded draw.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { customersToCsv, generateCustomers } from './data';

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    rows: { type: 'string', default: '5000' },
    seed: { type: 'string', default: '7' },
    batch: { type: 'string', default: 'baseline' },
  },
});
if (!values.out) throw new Error('--out <dir> is required');
if (values.batch !== 'baseline' && values.batch !== 'drifted') throw new Error(`--batch must be baseline or drifted`);
const customers = generateCustomers({ rows: Number(values.rows), seed: Number(values.seed), batch: values.batch });
const cut = Math.floor(customers.length * 0.8);
mkdirSync(values.out, { recursive: true });
writeFileSync(join(values.out, 'train.csv'), customersToCsv(customers.slice(0, cut)));
writeFileSync(join(values.out, 'validation.csv'), customersToCsv(customers.slice(cut)));
process.stdout.write(`wrote ${cut} training and ${customers.length - cut} validation rows to ${values.out}\n`);
