/**
 * After evaluation: the gate compares the candidate with the thresholds and the champion, and
 * RegisterVersion records the version (with its lineage) that waits for approval.
 */
import * as z from '../../shared/zod';
import { Conflict, Invalid } from '../../shared/errors';
import { decideGate } from '../gate';
import { evaluationReportSchema, gateSettingsSchema, objectiveSchema } from '../settings';
import { DATASET_FIELDS, metricComparison, RUN_FIELDS, type StepPorts } from './ports';

const nonEmpty = z.string().check(z.minLength(1));
const s3UriString = z.string().check(z.startsWith('s3://'));

// ---------------------------------------------------------------------------------------------
// Gate

export const gateInput = z.object({
  step: z.literal('gate'),
  ...RUN_FIELDS,
  objective: objectiveSchema,
  gate: gateSettingsSchema,
  evaluationReportUri: s3UriString,
  champion: z.nullable(z.object({ version: z.int().check(z.positive()) })),
});

export async function gate(input: z.infer<typeof gateInput>, ports: StepPorts) {
  const parsed = evaluationReportSchema.safeParse(await ports.readJson(input.evaluationReportUri));
  if (!parsed.success) throw new Invalid(`${input.evaluationReportUri} is not an evaluation report: ${parsed.error.message}`);
  const decision = decideGate({
    objective: input.objective,
    gate: input.gate,
    report: parsed.data,
    championVersion: input.champion?.version,
  });
  await ports.store.updateRun(input.runId, {
    comparison: decision.comparison,
    currentState: 'Gate',
    ...(decision.passed ? {} : { reason: `rejected by gate: ${decision.reasons.join('; ')}` }),
  });
  return decision;
}

// ---------------------------------------------------------------------------------------------
// RegisterVersion

export const registerVersionInput = z.object({
  step: z.literal('registerVersion'),
  ...RUN_FIELDS,
  requestedBy: nonEmpty,
  ...DATASET_FIELDS,
  trainingJobName: nonEmpty,
  modelArtifactUri: s3UriString,
  imageUri: nonEmpty,
  instanceType: nonEmpty,
  hyperparameters: z.record(z.string(), z.string()),
  metrics: z.record(z.string(), z.number()),
  comparison: metricComparison,
  evaluationReportUri: s3UriString,
  trainingDataUri: s3UriString,
});

export async function registerVersion(input: z.infer<typeof registerVersionInput>, ports: StepPorts) {
  const at = ports.now().toISOString();
  // Lineage is recorded on every path (it is idempotent), so a retry after a failed lineage write completes it.
  const linked = async (version: number) => {
    await ports.lineage.record({
      dataset: input.datasetName,
      datasetVersion: input.datasetVersion,
      model: input.model,
      version,
      runId: input.runId,
      trainingJobName: input.trainingJobName,
      at,
    });
    return { version };
  };
  const existing = (await ports.store.getRun(input.runId))?.version;
  if (existing !== undefined) return linked(existing);

  const version = await ports.store.nextVersionNumber(input.model, at);
  const { step: _step, trainingDataUri: _uri, ...fields } = input;
  const registered = await ports.store.registerVersion({ ...fields, version, status: 'PENDING_APPROVAL', createdAt: at, updatedAt: at });
  if (!registered) {
    // A concurrent retry of this step won; its number is the run's (this one is a gap).
    const winner = (await ports.store.getRun(input.runId))?.version;
    if (winner === undefined) throw new Conflict(`version ${version} of ${input.model} could not be registered`);
    return linked(winner);
  }
  return linked(version);
}
