/**
 * The starter's non-DynamoDB adapters: Step Functions (the pipeline) and metrics.
 */
import { ExecutionAlreadyExists, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { PipelineInput } from '../shared/contracts';
import { RETRAINING_DIMENSIONS, RETRAINING_METRICS } from '../shared/metrics';
import type { SuppressionReason } from './policy';
import type { Pipeline, RetrainingMetrics } from './start';

/** `arn:…:stateMachine:<name>` + execution name → `arn:…:execution:<name>:<execution>`. */
export const executionArnOf = (stateMachineArn: string, name: string) =>
  `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;

/** Starts the training pipeline; the execution name is the runId, so a repeat start is a no-op. */
export class StepFunctionsPipeline implements Pipeline {
  constructor(
    private readonly client: Pick<SFNClient, 'send'>,
    private readonly stateMachineArn: string,
  ) {}

  async start(input: PipelineInput): Promise<{ executionArn: string; alreadyExisted: boolean }> {
    try {
      const out = await this.client.send(
        new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name: input.runId, input: JSON.stringify(input) }),
      );
      return { executionArn: out.executionArn ?? executionArnOf(this.stateMachineArn, input.runId), alreadyExisted: false };
    } catch (error) {
      // Same name with a different input (e.g. a newer dataset version resolved on a retry):
      // the first execution stands; never a second run for the same trigger.
      if (error instanceof ExecutionAlreadyExists || (error instanceof Error && error.name === 'ExecutionAlreadyExists')) {
        return { executionArn: executionArnOf(this.stateMachineArn, input.runId), alreadyExisted: true };
      }
      throw error;
    }
  }
}

/**
 * `RETRAINING_METRICS` (`RetrainingStarted` with dimension Model, `RetrainingSuppressed` with
 * Model and Reason) in the Caretaker namespace, as embedded metric format, one record per outcome.
 */
export class EmfRetrainingMetrics implements RetrainingMetrics {
  constructor(private readonly metrics: Metrics) {}

  started(model: string): void {
    this.emit(RETRAINING_METRICS.started, { [RETRAINING_DIMENSIONS.model]: model });
  }

  suppressed(model: string, reason: SuppressionReason): void {
    this.emit(RETRAINING_METRICS.suppressed, { [RETRAINING_DIMENSIONS.model]: model, [RETRAINING_DIMENSIONS.reason]: reason });
  }

  private emit(name: string, dimensions: Record<string, string>): void {
    const single = this.metrics.singleMetric();
    // Dashboards and alarms select on exactly these dimensions: no `service` dimension.
    single.clearDefaultDimensions();
    single.addDimensions(dimensions);
    single.addMetric(name, MetricUnit.Count, 1);
  }
}
