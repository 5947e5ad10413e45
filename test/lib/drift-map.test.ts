/**
 * The drift Distributed Map in the synthesized template: its ASL (ItemReader, ItemBatcher,
 * MaxConcurrency, ToleratedFailurePercentage, ResultWriter), its substitutions, and the
 * least-privilege IAM the Step Functions developer guide lists for Distributed Map states.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DRIFT_MAP_DEFINITION } from '../../lib/constructs/drift-monitor';
import { SHARD_BATCH_OBJECTS } from '../../lambdas/drift/map';
import { ENV } from '../../lambdas/shared/env';
import { placeholdersOf } from '../../local/stepfunctions/runner';
import { synthCaretaker } from '../support/stack';

interface Statement {
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

describe('drift Distributed Map (DriftMonitor)', () => {
  const { template, stack } = synthCaretaker();
  const id = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
  const machineId = id(stack.drift.mapStateMachine);
  const bucketId = id(stack.artifacts.bucket);
  const resources = template.toJSON() as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
  const machine = resources.Resources[machineId]!.Properties;
  const asl = JSON.parse(machine.DefinitionString as string) as {
    TimeoutSeconds: number;
    States: Record<string, Record<string, unknown>>;
  };
  const map = asl.States.AnalyzeShards as {
    ItemReader: { Resource: string; Parameters: Record<string, string> };
    ItemBatcher: { MaxItemsPerBatch: number };
    MaxConcurrency: number;
    ToleratedFailurePercentage: number;
    ItemProcessor: { ProcessorConfig: { Mode: string }; States: Record<string, { TimeoutSeconds: number; Parameters: { FunctionName: string } }> };
    ResultWriter: { Resource: string; Parameters: Record<string, string> };
  };
  const policiesOf = (roleId: string): Statement[] =>
    Object.values(resources.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(roleId))
      .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);

  it('is the ASL file, with the same placeholders as its substitutions, both ways', () => {
    const file = readFileSync(DRIFT_MAP_DEFINITION, 'utf8');
    expect(JSON.parse(machine.DefinitionString as string)).toEqual(JSON.parse(file));
    expect([...placeholdersOf(file)].sort()).toEqual(Object.keys(machine.DefinitionSubstitutions as object).sort());
    expect(machine.DefinitionSubstitutions).toEqual({
      ArtifactsBucket: { Ref: bucketId },
      ShardFunctionArn: { 'Fn::GetAtt': [id(stack.drift.shardFunction.function), 'Arn'] },
      ReduceFunctionArn: { 'Fn::GetAtt': [id(stack.drift.reduceFunction.function), 'Arn'] },
    });
  });

  it('maps over the capture listing in bounded batches, tolerating no failed child, writing results under reports/', () => {
    expect(map.ItemProcessor.ProcessorConfig.Mode).toBe('DISTRIBUTED');
    expect(map.ItemReader).toEqual({ Resource: 'arn:aws:states:::s3:listObjectsV2', Parameters: { Bucket: '${ArtifactsBucket}', 'Prefix.$': '$.capturePrefix' } });
    expect(map.ItemBatcher.MaxItemsPerBatch).toBe(SHARD_BATCH_OBJECTS);
    expect(map.MaxConcurrency).toBeGreaterThan(0);
    expect(map.MaxConcurrency).toBeLessThanOrEqual(100);
    expect(map.ToleratedFailurePercentage).toBe(0);
    expect(map.ResultWriter).toEqual({ Resource: 'arn:aws:states:::s3:putObject', Parameters: { Bucket: '${ArtifactsBucket}', 'Prefix.$': '$.resultPrefix' } });
  });

  it("gives each Lambda state a timeout longer than its function's (RELIABILITY row 26)", () => {
    const fnTimeout = (construct: { function: { node: { defaultChild?: unknown } } }) =>
      (resources.Resources[id(construct.function)]!.Properties as { Timeout: number }).Timeout;
    expect(map.ItemProcessor.States.AnalyzeShard!.TimeoutSeconds).toBeGreaterThan(fnTimeout(stack.drift.shardFunction));
    expect((asl.States.Reduce as { TimeoutSeconds: number }).TimeoutSeconds).toBeGreaterThan(fnTimeout(stack.drift.reduceFunction));
    expect(asl.TimeoutSeconds).toBeGreaterThan(0);
  });

  it('lets the state machine start and watch only its own child executions, list only capture/, write only reports/, invoke only its two functions', () => {
    const all = policiesOf(id(stack.drift.mapRole));
    const actions = all.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions.some((a) => a.includes('*') && !a.startsWith('kms:') && !a.startsWith('xray:') && !a.startsWith('logs:'))).toBe(false);
    expect(all).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Action: 'states:StartExecution', Resource: { Ref: machineId } }),
        expect.objectContaining({
          Action: ['states:DescribeExecution', 'states:StopExecution'],
          Resource: {
            'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':states:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':execution:', { 'Fn::GetAtt': [machineId, 'Name'] }, '/*']],
          },
        }),
        expect.objectContaining({ Action: 's3:ListBucket', Resource: { 'Fn::GetAtt': [bucketId, 'Arn'] }, Condition: { StringLike: { 's3:prefix': ['capture/*'] } } }),
        expect.objectContaining({
          Action: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:PutObject'],
          Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/reports/*']] },
        }),
        expect.objectContaining({
          Action: 'lambda:InvokeFunction',
          Resource: [{ 'Fn::GetAtt': [id(stack.drift.reduceFunction.function), 'Arn'] }, { 'Fn::GetAtt': [id(stack.drift.shardFunction.function), 'Arn'] }],
        }),
      ]),
    );
    expect(JSON.stringify(all)).not.toMatch(/s3:DeleteObject|states:\*|lambda:\*/);
  });

  it('lets the shard read capture, ground truth (listing only its prefix) and baselines and the reducer read reports and baselines; both write only reports/', () => {
    for (const [fn, readable, listable] of [
      [stack.drift.shardFunction, ['baselines/*', 'capture/*', 'ground-truth/*'], ['ground-truth/*']],
      [stack.drift.reduceFunction, ['baselines/*', 'reports/*'], []],
    ] as const) {
      const all = policiesOf(id(fn.role));
      const reads = all.filter((s) => s.Action === 's3:GetObject');
      expect(reads).toEqual([{ Action: 's3:GetObject', Effect: 'Allow', Resource: readable.map((p) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, `/${p}`]] })) }]);
      const writes = all.filter((s) => JSON.stringify(s.Action).includes('s3:Put'));
      expect(writes).toEqual([{ Action: 's3:PutObject', Effect: 'Allow', Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/reports/*']] } }]);
      const lists = all.filter((s) => s.Action === 's3:ListBucket');
      expect(lists).toEqual(
        listable.length === 0 ? [] : [{ Action: 's3:ListBucket', Effect: 'Allow', Resource: { 'Fn::GetAtt': [bucketId, 'Arn'] }, Condition: { StringLike: { 's3:prefix': listable } } }],
      );
      expect(JSON.stringify(all)).not.toMatch(/dynamodb:|states:/);
    }
  });

  it('tells the analyzer which state machine to start, and lets it start only that one', () => {
    const analyzer = resources.Resources[id(stack.drift.analyzer.function)]!.Properties as { Environment: { Variables: Record<string, unknown> } };
    expect(analyzer.Environment.Variables[ENV.driftMapStateMachineArn]).toEqual({ Ref: machineId });
    const starts = policiesOf(id(stack.drift.analyzer.role)).filter((s) => JSON.stringify(s.Action).includes('states:'));
    expect(starts).toEqual([{ Action: 'states:StartExecution', Effect: 'Allow', Resource: { Ref: machineId } }]);
  });
});
