/**
 * The churn data set: synthetic customers of a subscription business, generated from a fixed
 * seed so every run of the demo and the tests sees the same bytes.
 *
 * Columns match the `churn` model in caretaker.config.json:
 * tenure_months (integer 0–600), monthly_charges (number ≥ 0), support_calls (integer ≥ 0),
 * contract (month-to-month | one-year | two-year), churned (0/1 label).
 *
 * The DRIFTED batch is what the world looks like after a price rise: shorter tenures, higher
 * charges, more support calls, more month-to-month contracts — and a different reason to leave
 * (price now drives churn much harder, while support calls that get answered keep people). A
 * model trained on the baseline batch ranks these customers poorly; a retrained one does not.
 */
import { toCsv } from './csv';
import { exponential, mulberry32, normal, pick, poisson } from './prng';

export const CONTRACTS = ['month-to-month', 'one-year', 'two-year'] as const;
export type Contract = (typeof CONTRACTS)[number];

export const COLUMNS = ['tenure_months', 'monthly_charges', 'support_calls', 'contract', 'churned'] as const;
export const FEATURE_COLUMNS = COLUMNS.slice(0, 4);
export const TARGET_COLUMN = 'churned';

export interface Customer {
  readonly tenure_months: number;
  readonly monthly_charges: number;
  readonly support_calls: number;
  readonly contract: Contract;
  readonly churned: 0 | 1;
}

export type Batch = 'baseline' | 'drifted';

interface World {
  readonly contractMix: Readonly<Record<Contract, number>>;
  readonly tenureMean: Readonly<Record<Contract, number>>;
  readonly chargesMean: number;
  readonly chargesSd: number;
  readonly supportRate: number;
  readonly logit: (c: Omit<Customer, 'churned'>) => number;
}

const WORLDS: Readonly<Record<Batch, World>> = {
  baseline: {
    contractMix: { 'month-to-month': 0.55, 'one-year': 0.25, 'two-year': 0.2 },
    tenureMean: { 'month-to-month': 14, 'one-year': 32, 'two-year': 60 },
    chargesMean: 65,
    chargesSd: 20,
    supportRate: 1.5,
    logit: (c) =>
      -0.6 -
      0.05 * c.tenure_months +
      0.02 * (c.monthly_charges - 65) +
      0.55 * c.support_calls +
      { 'month-to-month': 1.0, 'one-year': -0.4, 'two-year': -1.6 }[c.contract],
  },
  drifted: {
    contractMix: { 'month-to-month': 0.75, 'one-year': 0.15, 'two-year': 0.1 },
    tenureMean: { 'month-to-month': 8, 'one-year': 20, 'two-year': 40 },
    chargesMean: 92,
    chargesSd: 24,
    supportRate: 3,
    logit: (c) =>
      -0.4 +
      0.01 * c.tenure_months +
      0.09 * (c.monthly_charges - 92) -
      0.6 * (c.support_calls - 3) +
      { 'month-to-month': 0.2, 'one-year': 0.1, 'two-year': 0.0 }[c.contract],
  },
};

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

export interface GenerateOptions {
  readonly rows: number;
  readonly seed: number;
  readonly batch?: Batch;
}

export function generateCustomers({ rows, seed, batch = 'baseline' }: GenerateOptions): Customer[] {
  if (!Number.isInteger(rows) || rows < 1) throw new Error(`rows must be a positive integer, got ${rows}`);
  const world = WORLDS[batch];
  const random = mulberry32(seed);
  const customers: Customer[] = [];
  for (let i = 0; i < rows; i += 1) {
    const contract = pick(random, world.contractMix);
    const features = {
      contract,
      tenure_months: clamp(Math.round(exponential(random, world.tenureMean[contract])), 0, 600),
      monthly_charges: Math.round(clamp(normal(random, world.chargesMean, world.chargesSd), 18.25, 250) * 100) / 100,
      support_calls: poisson(random, world.supportRate),
    };
    const churned = random() < sigmoid(world.logit(features)) ? 1 : 0;
    customers.push({ ...features, churned });
  }
  return customers;
}

export function customersToCsv(customers: readonly Customer[]): string {
  return toCsv(
    COLUMNS,
    customers.map((c) => COLUMNS.map((column) => c[column])),
  );
}

/** CSV text (with header) of a generated batch. */
export function generateCsv(options: GenerateOptions): string {
  return customersToCsv(generateCustomers(options));
}
