import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { trainingHyperparameters } from '../../lib/pipeline-settings';
import { builtInImageUri, gpuHyperparametersOf, parseBuiltInImage, SAGEMAKER_XGBOOST_REGISTRIES } from '../../lib/sagemaker-images';
import { resolveImageUri } from '../../lib/constructs/sagemaker-image-uri';
import { parseConfig } from '../../lib/config';
import { defaultImageRegistry, resolveImage } from '../../local/sagemaker/images';
import { exampleConfigInput, synthCaretaker } from '../support/stack';

describe('SageMaker images by name, resolved per region', () => {
  it('resolves sagemaker-xgboost to the account the SageMaker guide lists for the region', () => {
    // "Docker Registry Paths and Example Code", US East (N. Virginia), XGBoost (algorithm).
    expect(builtInImageUri({ repository: 'sagemaker-xgboost', version: '1.7-1' }, 'us-east-1')).toBe('683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1');
    expect(builtInImageUri({ repository: 'sagemaker-xgboost', version: '2.1-0' }, 'eu-west-1')).toBe('141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:2.1-0');
    expect(builtInImageUri({ repository: 'sagemaker-xgboost', version: '1.7-1' }, 'cn-north-1')).toBe('450853457545.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-xgboost:1.7-1');
  });

  it('refuses a version it cannot name (the guide forbids :latest and :1 for XGBoost) and a region with no registry', () => {
    expect(() => parseBuiltInImage('sagemaker-xgboost:0.9-9', 'models[0].trainingImageUri')).toThrow(/models\[0\]\.trainingImageUri: sagemaker-xgboost version 0\.9-9 is not one Caretaker resolves \(known: 1\.7-1, 2\.1-0/);
    expect(parseBuiltInImage('sagemaker-xgboost:latest')).toBeUndefined();
    expect(parseBuiltInImage('123456789012.dkr.ecr.us-east-1.amazonaws.com/caretaker-churn:1.0.0')).toBeUndefined();
    expect(() => builtInImageUri({ repository: 'sagemaker-xgboost', version: '1.7-1' }, 'xx-nowhere-1')).toThrow(/no registry listed for region xx-nowhere-1/);
  });

  it('names the GPU hyperparameters each version documents', () => {
    expect(gpuHyperparametersOf('sagemaker-xgboost:1.7-1')).toEqual({ tree_method: 'gpu_hist' });
    expect(gpuHyperparametersOf('sagemaker-xgboost:2.1-0')).toEqual({ tree_method: 'hist', device: 'cuda' });
    expect(gpuHyperparametersOf('123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1')).toEqual({});
    // Rendered into the model's settings only when every instance type the run may fall back to has a GPU.
    expect(trainingHyperparameters('sagemaker-xgboost:2.1-0', ['ml.g5.xlarge', 'ml.g4dn.xlarge'])).toEqual({ tree_method: 'hist', device: 'cuda' });
    expect(trainingHyperparameters('sagemaker-xgboost:2.1-0', ['ml.g5.xlarge', 'ml.m5.xlarge'])).toEqual({});
    expect(trainingHyperparameters('123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1', ['ml.g5.xlarge'])).toEqual({});
  });

  it('is a literal in a stack with a region, and a FindInMap over the documented map in an environment-agnostic one', () => {
    const app = new App();
    const pinned = new Stack(app, 'Pinned', { env: { region: 'us-west-2' } });
    expect(resolveImageUri(pinned, 'sagemaker-xgboost:1.7-1')).toBe('246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.7-1');
    expect(resolveImageUri(pinned, '123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1')).toBe('123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1');

    const agnostic = new Stack(app, 'Agnostic');
    const uri = resolveImageUri(agnostic, 'sagemaker-xgboost:1.7-1');
    expect(resolveImageUri(agnostic, 'sagemaker-xgboost:2.1-0')).not.toBe(uri);
    const template = Template.fromStack(agnostic).toJSON() as { Mappings?: Record<string, Record<string, { account: string }>> };
    const mappings = Object.values(template.Mappings ?? {});
    expect(mappings).toHaveLength(1);
    expect(Object.fromEntries(Object.entries(mappings[0] ?? {}).map(([region, { account }]) => [region, account]))).toEqual(SAGEMAKER_XGBOOST_REGISTRIES);
    expect(agnostic.resolve(uri)).toEqual({
      'Fn::Join': ['', [{ 'Fn::FindInMap': [expect.any(String), { Ref: 'AWS::Region' }, 'account'] }, '.dkr.ecr.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/sagemaker-xgboost:1.7-1']],
    });
  });

  it('local mode runs the XGBoost stand-in (real xgboost under Debian\'s python3) for the resolved image, and python3 for an evaluation script', () => {
    const entry = resolveImage(defaultImageRegistry(), builtInImageUri({ repository: 'sagemaker-xgboost', version: '1.7-1' }, 'us-east-1'));
    expect(entry.train?.at(-1)).toMatch(/local\/images\/sagemaker-xgboost\/train\.py$/);
    expect(entry.serve?.at(-1)).toMatch(/local\/images\/sagemaker-xgboost\/serve\.py$/);
    expect(entry.entrypoints?.python3).toEqual([entry.train?.[0]]);
    expect(entry.entrypoints?.evaluate).toBeUndefined();
  });

  it('a config naming sagemaker-xgboost:1.7-1 synthesizes the region-resolved URI into the model settings, with no ECR grant for it', () => {
    const input = exampleConfigInput();
    const [first] = input.models;
    if (!first) throw new Error('example config has no model');
    const config = parseConfig({ ...input, models: [{ ...first, trainingImageUri: 'sagemaker-xgboost:1.7-1', evaluation: { imageUri: 'sagemaker-xgboost:1.7-1', script: 'examples/churn-xgboost/evaluate.py' } }] });
    const { template } = synthCaretaker({ config });
    const settings: unknown[] = Object.values(template.findResources('AWS::SSM::Parameter')).map((r) => (r as { Properties: { Value: unknown } }).Properties.Value);
    const text = JSON.stringify(settings);
    expect(text).toContain('/sagemaker-xgboost:1.7-1');
    expect(text).toContain('Fn::FindInMap');
    expect(text).not.toContain('"sagemaker-xgboost:1.7-1');
    // The example trains on ml.g5/ml.g4dn only: 1.7-1's GPU tree method is in its hyperparameters.
    expect(text).toContain('gpu_hist');
    expect(text).not.toContain('cuda');
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (p) => (p as { Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } } }).Properties.PolicyDocument.Statement,
    );
    const ecr = statements.filter((st) => [st.Action].flat().includes('ecr:BatchGetImage'));
    expect(JSON.stringify(ecr)).not.toContain('sagemaker-xgboost');
  });
});
