/** `oauth-lens export --out FILE [--flow ID]`: the redacted HAR of a running instance. */
import type { Command } from 'commander';
import { getFromInstance, resolveInstance } from '../har/instance-client.js';
import { writePrivateFile } from '../har/write-file.js';

interface ExportFlags {
  out: string;
  flow?: string;
  kind?: string;
  since?: string;
  url?: string;
  token?: string;
}

export function register(program: Command): void {
  program
    .command('export')
    .description('write the redacted HAR of a running instance (secrets redacted, fingerprints re-keyed per file)')
    .requiredOption('--out <file>', 'HAR file to write (`-` for stdout)')
    .option('--flow <id>', 'only the exchanges of this flow')
    .option('--kind <kind>', 'only exchanges of this kind (token, authorize, …)')
    .option('--since <seq>', 'only exchanges captured after this sequence number (as in the viewer)')
    .option('--url <url>', 'admin URL of a running instance (default: from the state file written by start)')
    .option('--token <token>', 'admin token (default: OAUTH_LENS_TOKEN, the ?token= of --url, or the state file)')
    .action(async (flags: ExportFlags) => {
      const instance = resolveInstance(flags);
      const query = new URLSearchParams();
      if (flags.flow) query.set('flow', flags.flow);
      if (flags.kind) query.set('kind', flags.kind);
      if (flags.since) query.set('since', flags.since);
      const { text } = await getFromInstance(instance, `/api/har${query.size ? `?${query}` : ''}`);
      const har = JSON.parse(text) as { log?: { entries?: unknown[] } };
      if (!Array.isArray(har.log?.entries)) throw new Error('the instance did not answer with a HAR document');
      const body = `${JSON.stringify(har, null, 2)}\n`;
      if (flags.out === '-') {
        process.stdout.write(body);
        return;
      }
      writePrivateFile(flags.out, body);
      process.stderr.write(`wrote ${har.log.entries.length} entries to ${flags.out}\n`);
    });
}
