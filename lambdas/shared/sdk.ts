/**
 * Timeouts every AWS SDK client in lambdas/ is built with. Without them the SDK waits on a
 * connection or a response as long as the socket lets it, so a hung call outlives API Gateway's
 * 29 s integration timeout (the caller sees 504 while the function goes on acting) or a state's
 * TimeoutSeconds.
 *
 * - `connectionTimeout`: time to establish the TCP/TLS connection (AWS SDK for JavaScript v3,
 *   `NodeHttpHandler` options, passed as the `requestHandler` constructor object).
 * - `requestTimeout`: time the whole request may take. `@smithy/node-http-handler` 4.x only
 *   logs a warning when it passes unless `throwOnRequestTimeout` is set (its `setRequestTimeout`):
 *   without that flag a hung call still hangs, so it is always set here.
 * - `maxAttempts`: the SDK's standard retry strategy, attempts per call (first + retries).
 *
 * With these, one API call gives up after at most 2 × (1 s + 4 s) plus the standard backoff
 * (< 1 s at 2 attempts): under 12 s, well inside 29 s; the API function itself stops at 25 s.
 * Whatever the function is cut off in, the decision path is safe (see lambdas/api/domain.ts).
 */
export const SDK_TIMEOUTS = {
  /** For the API's request path: every call must leave room for the next inside 29 s. */
  api: { connectionTimeout: 1_000, requestTimeout: 4_000, maxAttempts: 2 },
  /** For stream, queue, schedule and pipeline workers, whose own timeouts are minutes. */
  worker: { connectionTimeout: 2_000, requestTimeout: 15_000, maxAttempts: 3 },
} as const;

/** The `{ requestHandler, maxAttempts }` part of a client's configuration; spread other settings after it. */
export function sdkClientConfig(profile: keyof typeof SDK_TIMEOUTS = 'worker'): {
  requestHandler: { connectionTimeout: number; requestTimeout: number; throwOnRequestTimeout: true };
  maxAttempts: number;
} {
  const { connectionTimeout, requestTimeout, maxAttempts } = SDK_TIMEOUTS[profile];
  return { requestHandler: { connectionTimeout, requestTimeout, throwOnRequestTimeout: true }, maxAttempts };
}
