import { App, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config';
import { DatasetRegistry } from '../../../lib/constructs/dataset-registry';
import { DatasetStore } from '../../../lib/constructs/dataset-store';
import { datasetOfModel, type DatasetCatalog } from '../../../lambdas/datasets/catalog';
import { datasetCatalogFromConfig } from '../../../lib/dataset-catalog';
import { exampleConfigInput } from '../../support/stack';

describe('the dataset catalog', () => {
  const input = exampleConfigInput();
  const churn = input.models[0]!;

  it('lists each dataset once, with every model that trains on it and its new-data threshold', () => {
    const config = parseConfig({
      ...input,
      models: [churn, { ...churn, name: 'churn-lite', retraining: { newObjectsThreshold: 10 } }],
    });
    const catalog = datasetCatalogFromConfig(config);
    expect(Object.keys(catalog)).toEqual(['churn']);
    expect(catalog.churn?.models).toEqual([{ name: 'churn' }, { name: 'churn-lite', newObjectsThreshold: 10 }]);
    expect(catalog.churn).toMatchObject({ minRows: 1000, columns: expect.arrayContaining([expect.objectContaining({ name: 'churned' })]) as unknown });
    expect(datasetOfModel(catalog, 'churn-lite')).toBe('churn');
    expect(datasetOfModel(catalog, 'other')).toBeUndefined();
  });

  it('rejects two models declaring one dataset with different rules, naming both', () => {
    expect(() =>
      parseConfig({ ...input, models: [churn, { ...churn, name: 'churn-lite', dataset: { ...churn.dataset, minRows: 5 } }] }),
    ).toThrow(
      'models[1].dataset.name ("churn"): models[0] declares this dataset with other columns/minRows/maxRows/maxPsi; models sharing a dataset must declare the same rules',
    );
  });

  it('refuses at synth a catalog too large for the functions\' environment, saying what to do', () => {
    const stack = new Stack(new App());
    const key = new kms.Key(stack, 'Key');
    const store = new DatasetStore(stack, 'Store', { encryptionKey: key, accessLogsBucket: new s3.Bucket(stack, 'Logs') });
    const table = new dynamodb.Table(stack, 'Table', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
    const catalog: DatasetCatalog = {
      wide: { columns: Array.from({ length: 200 }, (_, i) => ({ name: `column_${i}`, type: 'number', nullable: false })), models: [{ name: 'wide' }] },
    };
    expect(() => new DatasetRegistry(stack, 'Registry', { store, table, encryptionKey: key, catalog })).toThrow(
      /catalog is \d+ characters as JSON; Lambda environments hold at most 3000 for it/,
    );
  });
});
