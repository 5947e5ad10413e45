import { Annotations, RemovalPolicy } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** Data is retained by default; a construct told to destroy it says so at every synth. */
export function warnOnDestroy(scope: IConstruct, removalPolicy: RemovalPolicy): void {
  if (removalPolicy === RemovalPolicy.DESTROY) {
    Annotations.of(scope).addWarningV2(
      'caretaker:destroyOnDelete',
      'removalPolicy is DESTROY: this data is deleted with the stack. Use only for throwaway stacks.',
    );
  }
}
