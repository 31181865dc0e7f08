/** `oauth-lens config check FILE`: validate a config file and say what it enables. */
import type { Command } from 'commander';
import { loadConfigFile, ConfigError } from '../oauth/config-validate.js';
import { describeConfig } from '../oauth/config-describe.js';

export interface ConfigCheckIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** Returns the exit code: 0 valid, 1 invalid. */
export function configCheck(file: string, io: ConfigCheckIo): number {
  try {
    const { lines, warnings } = describeConfig(loadConfigFile(file));
    io.out(`${lines.join('\n')}\n`);
    for (const w of warnings) io.err(`warning: ${w}\n`);
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(`${err.file ?? file}: invalid config\n${err.problems.map((p) => `  - ${p}`).join('\n')}\n`);
      return 1;
    }
    throw err;
  }
}

export function register(program: Command): void {
  const config = program.command('config').description('Work with the oauth-lens config file');
  config
    .command('check')
    .argument('<file>', 'JSON config file')
    .description('Validate a config file and print what it will detect')
    .action((file: string) => {
      process.exitCode = configCheck(file, { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) });
    });
}
