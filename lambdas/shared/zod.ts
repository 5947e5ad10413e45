/**
 * The zod every Lambda module imports (`import * as z from '../shared/zod'`): `zod/mini`, whose
 * functional API (`z.optional(s)`, `s.check(z.minLength(1))`, `z.pipe(s, z.transform(f))` …)
 * lets a bundle carry only the schemas and checks it uses. Classic `zod` carries every method of
 * every schema (toJSONSchema included) into any bundle that imports it once: ~100 KB of the
 * registry API's 200 KB budget (BENCHMARKS.md, "API bundle: zod classic → zod/mini").
 *
 * `zod/mini` loads no locale, so without one every issue reads "Invalid input". English is set
 * here, before any schema parses, so the messages the API's 400s carry are classic zod's.
 */
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());

export * from 'zod/mini';

/**
 * The error `parse` throws (classic zod's `ZodError` and mini's are both `$ZodError`s). Exported by
 * name because reading `z.core.$ZodError` at run time makes esbuild keep the whole `core`
 * namespace — every schema, check and the JSON Schema generator (+300 KB on a datasets bundle).
 */
export { $ZodError as ZodError } from 'zod/v4/core';
