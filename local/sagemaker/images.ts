/**
 * The local image registry: what "running an image" means on a machine without Docker.
 *
 * SageMaker starts a training container as `docker run <image> train`, an inference container
 * as `docker run <image> serve`, and a Processing container with the job's ContainerEntrypoint.
 * The runner instead looks the image URI up here and runs the matching command as a process.
 *
 * Keys are an exact image URI or a repository name: `123456789012.dkr.ecr.us-east-1.amazonaws.com/caretaker-churn:1.0.0`
 * is found under its own URI first, then under `caretaker-churn`. A registry file (JSON, same
 * shape as `ImageRegistry`) may use `{node}` (this Node binary), `{tsx}` (the tsx loader URL)
 * and `{root}` (the directory of the file) in commands.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as z from 'zod';

const command = z.array(z.string().min(1)).min(1);

export const imageEntrySchema = z.strictObject({
  /** Command for `train` (training jobs). */
  train: command.optional(),
  /** Command for `serve` (endpoints). */
  serve: command.optional(),
  /** Executables on the image's PATH, for a Processing job's `ContainerEntrypoint[0]`. */
  entrypoints: z.record(z.string(), command).optional(),
});
export type ImageEntry = z.infer<typeof imageEntrySchema>;
export type ImageRegistry = Readonly<Record<string, ImageEntry>>;

const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

/** `file://…/tsx/dist/loader.mjs`: `node --import <this> file.ts` runs TypeScript in one process. */
export function tsxLoaderUrl(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

/** Runs a TypeScript file with this Node and tsx. */
export function tsCommand(file: string): string[] {
  return [process.execPath, '--import', tsxLoaderUrl(), file];
}

/**
 * The interpreter of the XGBoost stand-in: Debian's python3 with `python3-xgboost` (1.7.4, the
 * image's minor version), not a pyenv or venv python3 that may be first on PATH.
 */
export function xgboostPython(env: NodeJS.ProcessEnv = process.env): string {
  return env.XGBOOST_PYTHON ?? '/usr/bin/python3';
}

/** Whether the XGBoost stand-in can run here (its interpreter imports xgboost); the reason when not. */
export function xgboostStandInProblem(python = xgboostPython()): string | undefined {
  const probe = spawnSync(python, ['-c', 'import xgboost, numpy'], { encoding: 'utf8' });
  if (probe.status === 0) return undefined;
  const why = probe.error ? probe.error.message : (probe.stderr.trim().split('\n').at(-1) ?? `exit ${probe.status}`);
  return `${python} cannot import xgboost (${why}); install it with: apt-get install -y python3-xgboost`;
}

/** The example models of this repository (examples/) and the stand-ins of SageMaker's images (local/images/), under their repository names. */
export function defaultImageRegistry(): ImageRegistry {
  const churn = (file: string) => tsCommand(join(REPO_ROOT, 'examples', 'churn', 'src', file));
  const python = xgboostPython();
  const xgboost = (file: string) => [python, join(REPO_ROOT, 'local', 'images', 'sagemaker-xgboost', file)];
  return {
    'caretaker-churn': { train: churn('train.ts'), serve: churn('serve.ts'), entrypoints: { evaluate: churn('evaluate.ts') } },
    // SageMaker's XGBoost image (lib/sagemaker-images.ts resolves it per region): the real xgboost
    // library (Debian's 1.7.4) behind the container's train and serve contract, CPU only
    // (local/images/sagemaker-xgboost/README.md). As a framework image it runs a Processing
    // job's `python3 <script>` with the same interpreter, so the evaluation script is ours, unchanged.
    'sagemaker-xgboost': { train: xgboost('train.py'), serve: xgboost('serve.py'), entrypoints: { python3: [python] } },
  };
}

/** Reads a registry file; its entries are added to (and override) the defaults. */
export function loadImageRegistry(file: string): ImageRegistry {
  const raw: unknown = JSON.parse(readFileSync(file, 'utf8'));
  const parsed = z.record(z.string(), imageEntrySchema).parse(raw);
  const substitutions: Record<string, string> = { '{node}': process.execPath, '{tsx}': tsxLoaderUrl(), '{root}': dirname(resolve(file)) };
  const expand = (parts: string[]) => parts.map((part) => part.replace(/\{node\}|\{tsx\}|\{root\}/g, (token) => substitutions[token] ?? token));
  return Object.fromEntries(
    Object.entries(parsed).map(([image, entry]) => [
      image,
      {
        ...(entry.train && { train: expand(entry.train) }),
        ...(entry.serve && { serve: expand(entry.serve) }),
        ...(entry.entrypoints && {
          entrypoints: Object.fromEntries(Object.entries(entry.entrypoints).map(([name, parts]) => [name, expand(parts)])),
        }),
      },
    ]),
  );
}

/** `acct.dkr.ecr.region.amazonaws.com/team/caretaker-churn:1.0.0` → `team/caretaker-churn`, then `caretaker-churn`. */
function candidates(imageUri: string): string[] {
  const withoutDigest = imageUri.split('@')[0] ?? imageUri;
  const slash = withoutDigest.indexOf('/');
  const hasRegistry = slash > 0 && /[.:]/.test(withoutDigest.slice(0, slash));
  const path = hasRegistry ? withoutDigest.slice(slash + 1) : withoutDigest;
  const repository = path.replace(/:[^/:]*$/, '');
  return [imageUri, repository, repository.split('/').pop() ?? repository];
}

export class UnknownImage extends Error {}

export function resolveImage(registry: ImageRegistry, imageUri: string): ImageEntry {
  for (const key of candidates(imageUri)) {
    const entry = registry[key];
    if (entry) return entry;
  }
  throw new UnknownImage(`image ${imageUri} is not in the local image registry (known: ${Object.keys(registry).join(', ') || 'none'})`);
}
