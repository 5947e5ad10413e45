/**
 * CDK app entry (`cdk.json` → `npx tsx bin/app.ts`). Reads the config named by the
 * `config` context value or `CARETAKER_CONFIG`, default `caretaker.config.json`.
 */
import { ConfigError, loadConfig } from '../lib/config';
import { buildApp } from '../lib/app';

const file = process.env.CARETAKER_CONFIG ?? 'caretaker.config.json';

try {
  const { app } = buildApp({ config: loadConfig(file) });
  app.synth();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
