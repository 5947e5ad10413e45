import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { fakeConsoleBuild, synthCaretaker } from '../support/stack';

const run = promisify(execFile);

interface ValidationReport {
  pluginReports: { pluginName: string; violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[] }[];
}

interface ManifestMetadataEntry {
  type: string;
  data: unknown;
}

describe('compliance of the synthesized app', () => {
  // Bundled, as `npm run synth` does: the templates checked are the ones that deploy.
  // With a built console, so the console's BucketDeployment is linted and nagged too.
  const { app, outdir } = synthCaretaker({ bundle: true, consoleAssetsPath: fakeConsoleBuild() });
  const assembly = app.synth();

  it('has no unacknowledged cdk-nag AwsSolutions finding', () => {
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as ValidationReport;
    const findings = report.pluginReports.flatMap((plugin) =>
      plugin.violations.flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} at ${c.constructPath}`)),
    );
    expect(findings).toEqual([]);
  });

  it('gives every acknowledgement one rule id and a real reason', () => {
    const acknowledgements = assembly.stacks.flatMap((stack) =>
      Object.entries(stack.manifest.metadata ?? {}).flatMap(([path, entries]) =>
        (entries as ManifestMetadataEntry[])
          .filter((entry) => entry.type === 'aws:cdk:acknowledged-rules')
          .flatMap((entry) => (Array.isArray(entry.data) ? entry.data : [entry.data]) as { id: string; reason: string }[])
          .map((ack) => ({ path, ...ack })),
      ),
    );
    for (const ack of acknowledgements) {
      expect(ack.id, ack.path).toMatch(/^AwsSolutions-[A-Z]+\d+(\[.+\])?$/);
      expect(ack.reason.length, `reason for ${ack.id} at ${ack.path}`).toBeGreaterThanOrEqual(30);
    }
  });

  it('passes cfn-lint with no errors and no warnings', async () => {
    const templates = readdirSync(outdir)
      .filter((f) => f.endsWith('.template.json'))
      .map((f) => join(outdir, f));
    expect(templates.length).toBeGreaterThan(0);
    const result = await run('cfn-lint', ['--format', 'parseable', '--', ...templates]).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (reason: unknown) => {
        const error = reason as { code?: number | string; stdout?: string; stderr?: string };
        if (error.code === 'ENOENT') throw new Error('cfn-lint is not on PATH: pip install cfn-lint');
        return { code: error.code, stdout: `${error.stdout ?? ''}${error.stderr ?? ''}` };
      },
    );
    expect(result.stdout.trim()).toBe('');
    expect(result.code).toBe(0);
  });

  it('fails synth when a construct breaks an AwsSolutions rule (the check is live)', () => {
    const { app: broken, stack } = synthCaretaker();
    new s3.Bucket(stack, 'PlainBucket');
    expect(() => broken.synth({ force: true })).toThrow(/AwsSolutions-S1'/);
  });
});
