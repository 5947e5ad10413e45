#!/usr/bin/env node
// The `caretaker` command. The CLI is TypeScript; tsx compiles it on the fly so the package
// needs no build step between `npm ci` and `npx caretaker`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv);
