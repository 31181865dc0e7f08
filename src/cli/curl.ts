/** `oauth-lens curl ID`: a shell-safe curl command for one captured exchange, secrets as $PLACEHOLDERS. */
import type { Command } from 'commander';
import { getFromInstance, resolveInstance } from '../har/instance-client.js';

interface CurlFlags {
  url?: string;
  token?: string;
}

export function register(program: Command): void {
  program
    .command('curl')
    .description('print a curl command reproducing one exchange, with secrets as environment placeholders')
    .argument('<id>', 'exchange id (as shown by the viewer, watch or the API)')
    .option('--url <url>', 'admin URL of a running instance (default: from the state file written by start)')
    .option('--token <token>', 'admin token (default: OAUTH_LENS_TOKEN, the ?token= of --url, or the state file)')
    .action(async (id: string, flags: CurlFlags) => {
      const instance = resolveInstance(flags);
      const { text } = await getFromInstance(instance, `/api/exchanges/${encodeURIComponent(id)}/curl`);
      process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    });
}
