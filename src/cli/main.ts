#!/usr/bin/env node
/** The `oauth-lens` command line: one file per command, each exporting `register(program)`. */
import { Command } from 'commander';
import { register as registerStart } from './start.js';
import { register as registerEnv } from './env.js';
import { register as registerCa } from './ca.js';
import { register as registerRun } from './run.js';
import { register as registerWatch } from './watch.js';
import { register as registerExport } from './export.js';
import { register as registerAnalyze } from './analyze.js';
import { register as registerCurl } from './curl.js';
import { register as registerConfig } from './config.js';

const program = new Command()
  .name('oauth-lens')
  .description('An intercepting HTTPS proxy that explains why your OAuth login fails')
  .version('0.1.0');

for (const register of [
  registerStart, registerEnv, registerCa, registerRun, registerWatch,
  registerExport, registerAnalyze, registerCurl, registerConfig,
]) {
  register(program);
}

program.parseAsync(process.argv).catch((err: unknown) => {
  // Error text only: never a stack with request data in it.
  process.stderr.write(`oauth-lens: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
