/**
 * Local mode with the shipped config, which trains on SageMaker's XGBoost image: the image's
 * stand-in, the evaluation script as a published file asset, the region-mapped image URI, and
 * the Node model a machine without xgboost trains instead.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localConfig, NODE_EXAMPLE_IMAGE } from '../../local/demo';
import { xgboostStandInProblem } from '../../local/sagemaker/images';
import { resolveIntrinsics, synthesizeStack } from '../../local/template';
import { exampleConfig } from '../support/stack';

const ROOT = join(import.meta.dirname, '..', '..');

describe('local mode and the XGBoost example', () => {
  it("the stand-in's interpreter imports xgboost here; a python3 without it is named with what to install", () => {
    expect(xgboostStandInProblem()).toBeUndefined();
    expect(xgboostStandInProblem('/nonexistent/python3')).toMatch(/^\/nonexistent\/python3 cannot import xgboost \(.*ENOENT.*\); install it with: apt-get install -y python3-xgboost$/);
  });

  it('synthesizes the evaluation script as a file asset bound for the bootstrap bucket, with its own bytes', () => {
    const { fileAssets } = synthesizeStack(exampleConfig());
    const script = fileAssets.filter((asset) => asset.objectKey.endsWith('.py'));
    expect(script).toHaveLength(1);
    expect(script[0]!.bucketName).toBe('cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}');
    expect(readFileSync(script[0]!.path, 'utf8')).toBe(readFileSync(join(ROOT, 'examples', 'churn-xgboost', 'evaluate.py'), 'utf8'));
  });

  it("resolves the image's region mapping (Fn::FindInMap) from the template, and names a missing entry", () => {
    const { template } = synthesizeStack(exampleConfig());
    const [map] = Object.keys(template.Mappings ?? {});
    const context = { region: 'eu-west-1', accountId: '123456789012', resources: new Map(), mappings: template.Mappings };
    expect(resolveIntrinsics({ 'Fn::FindInMap': [map, { Ref: 'AWS::Region' }, 'account'] }, context)).toBe('141502667606');
    expect(() => resolveIntrinsics({ 'Fn::FindInMap': [map, 'mars-north-1', 'account'] }, context)).toThrow(`Fn::FindInMap ${map}.mars-north-1.account: no such mapping entry`);
  });

  it('without xgboost, local mode trains the Node example in its place: its own image and evaluate entry point, the same data, gate and deployment', () => {
    const shipped = exampleConfig().models[0]!;
    const model = localConfig(exampleConfig(), { xgboost: 'unavailable' }).models[0]!;
    expect(model.trainingImageUri).toBe(NODE_EXAMPLE_IMAGE);
    expect(model.evaluation.script).toBeUndefined();
    expect(model.training.hyperparameters).toEqual({ eta: '0.2', num_round: '200' });
    expect({ dataset: model.dataset, gate: model.gate, deployment: model.deployment }).toEqual({ dataset: shipped.dataset, gate: shipped.gate, deployment: shipped.deployment });
    // The substitute synthesizes: no script asset, the image's own evaluate entry point.
    expect(synthesizeStack(localConfig(exampleConfig(), { xgboost: 'unavailable' })).fileAssets.filter((a) => a.objectKey.endsWith('.py'))).toEqual([]);
    expect(localConfig(exampleConfig(), { xgboost: 'stand-in' }).models[0]!.trainingImageUri).toBe('sagemaker-xgboost:1.7-1');
  });
});
