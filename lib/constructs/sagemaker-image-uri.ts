/** A config image name as the URI a stack hands SageMaker (`lib/sagemaker-images.ts` has the names and registries). */
import { Aws, CfnMapping, Fn, Stack, Token } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { builtInImageUri, parseBuiltInImage, registriesOf } from '../sagemaker-images';

/**
 * The URI to hand SageMaker for a config image: an ECR URI as given; a built-in name resolved
 * for the stack's region — a literal when the region is known at synth, else a CloudFormation
 * mapping (`Fn::FindInMap` on `AWS::Region`) over the documented account map, so an
 * environment-agnostic synth still deploys the right image in any listed region.
 */
export function resolveImageUri(scope: Construct, name: string, field = 'image'): string {
  const image = parseBuiltInImage(name, field);
  if (!image) return name;
  const stack = Stack.of(scope);
  if (!Token.isUnresolved(stack.region)) return builtInImageUri(image, stack.region);
  const id = `SageMakerImages${image.repository.replace(/[^A-Za-z0-9]/g, '')}`;
  const mapping =
    (stack.node.tryFindChild(id) as CfnMapping | undefined) ??
    new CfnMapping(stack, id, {
      mapping: Object.fromEntries(Object.entries(registriesOf(image.repository)).map(([region, account]) => [region, { account }])),
    });
  return Fn.join('', [mapping.findInMap(Aws.REGION, 'account'), '.dkr.ecr.', Aws.REGION, '.', Aws.URL_SUFFIX, `/${image.repository}:${image.version}`]);
}
