/**
 * SageMaker's own images (built-in algorithms and framework containers), named in the config
 * as `<repository>:<version>` (`sagemaker-xgboost:1.7-1`) and resolved to the region's registry
 * at synth, so one config deploys to any region and nothing is built or pushed before it.
 *
 * The registry accounts are SageMaker's, per region, as the SageMaker Developer Guide lists them
 * ("Docker Registry Paths and Example Code",
 * https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-algo-docker-registry-paths.html, the
 * per-region pages' "XGBoost (algorithm)" tables) and as the SageMaker Python SDK's
 * `image_uris.retrieve('xgboost', region, version)` reads them
 * (src/sagemaker/image_uri_config/xgboost.json: versions 1.7-1 and 2.1-0 share one account map,
 * the same for training and inference). The guide warns not to use `:latest` or `:1` for
 * XGBoost: a supported version must be named, so only the versions below are accepted.
 *
 * These images are owned by SageMaker and pulled with service credentials: the execution role
 * needs no ECR permission for them (same page, the note on pre-built images).
 *
 * Pure (no CDK): the config check reads it. `lib/constructs/sagemaker-image-uri.ts` resolves a
 * name to a URI in a stack.
 */

/** `sagemaker-xgboost` registry account per region (xgboost.json, versions 1.7-1 and 2.1-0). */
export const SAGEMAKER_XGBOOST_REGISTRIES: Readonly<Record<string, string>> = {
  'af-south-1': '510948584623',
  'ap-east-1': '651117190479',
  'ap-northeast-1': '354813040037',
  'ap-northeast-2': '366743142698',
  'ap-northeast-3': '867004704886',
  'ap-south-1': '720646828776',
  'ap-south-2': '628508329040',
  'ap-southeast-1': '121021644041',
  'ap-southeast-2': '783357654285',
  'ap-southeast-3': '951798379941',
  'ap-southeast-4': '106583098589',
  'ca-central-1': '341280168497',
  'ca-west-1': '190319476487',
  'cn-north-1': '450853457545',
  'cn-northwest-1': '451049120500',
  'eu-central-1': '492215442770',
  'eu-central-2': '680994064768',
  'eu-north-1': '662702820516',
  'eu-south-1': '978288397137',
  'eu-south-2': '104374241257',
  'eu-west-1': '141502667606',
  'eu-west-2': '764974769150',
  'eu-west-3': '659782779980',
  'il-central-1': '898809789911',
  'me-central-1': '272398656194',
  'me-south-1': '801668240914',
  'sa-east-1': '737474898029',
  'us-east-1': '683313688378',
  'us-east-2': '257758044811',
  'us-gov-east-1': '237065988967',
  'us-gov-west-1': '414596584902',
  'us-west-1': '746614075791',
  'us-west-2': '246618743249',
};

interface BuiltInRepository {
  readonly registries: Readonly<Record<string, string>>;
  readonly versions: readonly string[];
  /**
   * The hyperparameters that train on a GPU, as the version's XGBoost documents them: 1.x
   * `tree_method=gpu_hist` (XGBoost 1.7 "GPU Support"); 2.x `device=cuda` with `tree_method=hist`
   * (XGBoost 2.1 "GPU Support": gpu_hist is deprecated there).
   */
  readonly gpuHyperparameters: (version: string) => Readonly<Record<string, string>>;
}

const REPOSITORIES: Readonly<Record<string, BuiltInRepository>> = {
  'sagemaker-xgboost': {
    registries: SAGEMAKER_XGBOOST_REGISTRIES,
    versions: ['1.7-1', '2.1-0'],
    gpuHyperparameters: (version): Readonly<Record<string, string>> => (version.startsWith('1.') ? { tree_method: 'gpu_hist' } : { tree_method: 'hist', device: 'cuda' }),
  },
};

/** `sagemaker-xgboost:1.7-1`: a SageMaker image by repository and version, resolved per region at synth. */
export const BUILT_IN_IMAGE = /^(sagemaker-xgboost):(\d+\.\d+-\d+)$/;

export interface BuiltInImage {
  readonly repository: string;
  readonly version: string;
}

/** The repository and version of a `<repository>:<version>` name; `undefined` for anything else (an ECR URI). Throws for an unknown version. */
export function parseBuiltInImage(name: string, field = 'image'): BuiltInImage | undefined {
  const match = BUILT_IN_IMAGE.exec(name);
  if (!match) return undefined;
  const [, repository = '', version = ''] = match;
  const known = REPOSITORIES[repository];
  if (!known?.versions.includes(version)) {
    throw new Error(`${field}: ${repository} version ${version} is not one Caretaker resolves (known: ${known?.versions.join(', ') ?? 'none'}; SageMaker "Docker Registry Paths and Example Code")`);
  }
  return { repository, version };
}

/** The hyperparameters that make this built-in image train on a GPU (`{}` when it is not one). */
export function gpuHyperparametersOf(name: string): Readonly<Record<string, string>> {
  const image = parseBuiltInImage(name);
  return image ? (REPOSITORIES[image.repository]?.gpuHyperparameters(image.version) ?? {}) : {};
}

/** The image URI in a known region: `<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>:<version>`. */
export function builtInImageUri(image: BuiltInImage, region: string): string {
  const account = REPOSITORIES[image.repository]?.registries[region];
  if (account === undefined) {
    throw new Error(`${image.repository}:${image.version} has no registry listed for region ${region} (SageMaker "Docker Registry Paths and Example Code")`);
  }
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `${account}.dkr.ecr.${region}.${suffix}/${image.repository}:${image.version}`;
}

/** The registry account per region of a built-in repository (empty for an unknown one). */
export function registriesOf(repository: string): Readonly<Record<string, string>> {
  return REPOSITORIES[repository]?.registries ?? {};
}

/** True for SageMaker-owned images (no ECR grant is needed or possible for them). */
export function isBuiltInImage(name: string): boolean {
  return BUILT_IN_IMAGE.test(name);
}
