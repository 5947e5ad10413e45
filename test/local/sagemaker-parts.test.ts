/**
 * Parts of the local SageMaker runner that need no server: the model archive format (checked
 * against GNU tar both ways), the image registry, and blue/green traffic steps.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTarGz as readTarGzInExample } from '../../examples/churn/src/archive';
import { shiftSteps } from '../../local/sagemaker/endpoints';
import { SageMakerFault } from '../../local/sagemaker/errors';
import { defaultImageRegistry, loadImageRegistry, resolveImage, UnknownImage } from '../../local/sagemaker/images';
import { readTarGz, writeTarGz } from '../../local/sagemaker/tar';

const dir = mkdtempSync(join(tmpdir(), 'sagemaker-parts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('model.tar.gz', () => {
  const files = new Map([
    ['model.json', Buffer.from('{"weights":[1,2,3]}')],
    ['nested/deeper/config.txt', Buffer.from('x'.repeat(1500))],
    [`${'long-directory-name/'.repeat(6)}weights.bin`, Buffer.from([0, 1, 2, 255])],
  ]);

  it('writes archives GNU tar extracts byte for byte', () => {
    const archive = join(dir, 'ours.tar.gz');
    writeFileSync(archive, writeTarGz(files));
    const out = join(dir, 'extracted');
    mkdirSync(out);
    execFileSync('tar', ['-xzf', archive, '-C', out]);
    for (const [name, content] of files) expect(readFileSync(join(out, name))).toEqual(content);
  });

  it('reads archives GNU tar writes, in the runner and in the example model', () => {
    const src = join(dir, 'src');
    for (const [name, content] of files) {
      mkdirSync(join(src, name, '..'), { recursive: true });
      writeFileSync(join(src, name), content);
    }
    const archive = join(dir, 'gnu.tar.gz');
    execFileSync('tar', ['-czf', archive, '-C', src, ...files.keys()]);
    expect(readTarGz(readFileSync(archive))).toEqual(files);
    expect(readTarGzInExample(readFileSync(archive))).toEqual(files);
  });
});

describe('image registry', () => {
  it('finds an ECR image URI by its repository name, ignoring registry, tag and digest', () => {
    const registry = defaultImageRegistry();
    const churn = registry['caretaker-churn'];
    expect(resolveImage(registry, '123456789012.dkr.ecr.us-east-1.amazonaws.com/caretaker-churn:1.0.0')).toBe(churn);
    expect(resolveImage(registry, 'caretaker-churn@sha256:abc')).toBe(churn);
    expect(churn?.entrypoints?.evaluate?.at(-1)).toMatch(/examples\/churn\/src\/evaluate\.ts$/);
  });

  it('refuses an image it does not know, naming the ones it does', () => {
    expect(() => resolveImage(defaultImageRegistry(), 'acct.dkr.ecr.us-east-1.amazonaws.com/other:1')).toThrow(UnknownImage);
    expect(() => resolveImage(defaultImageRegistry(), 'other')).toThrow('known: caretaker-churn');
  });

  it('loads a registry file and expands {node}, {tsx} and {root}', () => {
    const file = join(dir, 'images.json');
    writeFileSync(file, JSON.stringify({ 'my-model': { train: ['{node}', '--import', '{tsx}', '{root}/train.ts'], serve: ['python3', 'serve.py'] } }));
    const entry = loadImageRegistry(file)['my-model'];
    expect(entry?.train).toEqual([process.execPath, '--import', expect.stringMatching(/^file:.*tsx.*loader\.mjs$/) as unknown, `${dir}/train.ts`]);
    expect(entry?.serve).toEqual(['python3', 'serve.py']);
  });

  it('rejects a registry file with unknown keys', () => {
    const file = join(dir, 'bad-images.json');
    writeFileSync(file, JSON.stringify({ 'my-model': { training: ['x'] } }));
    expect(() => loadImageRegistry(file)).toThrow(/training/);
  });
});

describe('blue/green traffic steps', () => {
  it('shifts all at once, in a canary and the rest, or in linear steps', () => {
    expect(shiftSteps(undefined, 1)).toEqual([1]);
    expect(shiftSteps({ Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 0 }, 1)).toEqual([1]);
    expect(shiftSteps({ Type: 'CANARY', WaitIntervalInSeconds: 60, CanarySize: { Type: 'CAPACITY_PERCENT', Value: 10 } }, 1)).toEqual([0.1, 1]);
    expect(shiftSteps({ Type: 'CANARY', WaitIntervalInSeconds: 60, CanarySize: { Type: 'INSTANCE_COUNT', Value: 1 } }, 4)).toEqual([0.25, 1]);
    expect(shiftSteps({ Type: 'LINEAR', WaitIntervalInSeconds: 60, LinearStepSize: { Type: 'CAPACITY_PERCENT', Value: 30 } }, 1)).toEqual([0.3, 0.6, 0.9, 1]);
  });

  it('rejects a canary without a size, or as large as the fleet', () => {
    expect(() => shiftSteps({ Type: 'CANARY', WaitIntervalInSeconds: 60 }, 1)).toThrow(SageMakerFault);
    expect(() => shiftSteps({ Type: 'CANARY', WaitIntervalInSeconds: 60, CanarySize: { Type: 'INSTANCE_COUNT', Value: 2 } }, 2)).toThrow('smaller than the whole fleet');
  });
});
