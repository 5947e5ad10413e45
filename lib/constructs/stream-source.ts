import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sqs from 'aws-cdk-lib/aws-sqs';

/**
 * A function's subscription to the table's stream, as every Caretaker stream consumer takes it:
 * from the oldest record, 100 at a time, only the records `filter` matches (Lambda applies it
 * before invoking). The function reports the first record it could not handle and the stream
 * retries from it, in order; a failing batch is halved until the bad record stands alone, and
 * after 10 retries that record goes to `deadLetters`.
 */
export function tableStreamSource(table: dynamodb.ITable, deadLetters: sqs.IQueue, filter: Record<string, unknown>): DynamoEventSource {
  return new DynamoEventSource(table, {
    startingPosition: lambda.StartingPosition.TRIM_HORIZON,
    batchSize: 100,
    retryAttempts: 10,
    bisectBatchOnError: true,
    reportBatchItemFailures: true,
    onFailure: new SqsDlq(deadLetters),
    filters: [lambda.FilterCriteria.filter(filter)],
  });
}
