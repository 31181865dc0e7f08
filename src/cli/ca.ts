/** `oauth-lens ca`: where the CA is and its SHA-256 fingerprint; `--regenerate` replaces it. */
import path from 'node:path';
import type { Command } from 'commander';
import { CertificateAuthority } from '../proxy/ca.js';
import { writeCaBundle } from '../proxy/client-env.js';

export function register(program: Command): void {
  program
    .command('ca')
    .description('print the CA certificate path and SHA-256 fingerprint')
    .option('--certs <dir>', 'where the local CA lives', './certs')
    .option('--regenerate', 'replace the CA (clients must trust the new one)')
    .action(async (flags: { certs: string; regenerate?: boolean }) => {
      const ca = await CertificateAuthority.loadOrCreate(path.resolve(flags.certs), { regenerate: flags.regenerate === true });
      await writeCaBundle(ca.paths.dir, ca.certPem);
      const lines = [`${ca.paths.cert}`, `SHA-256 ${ca.fingerprint256}`];
      if (ca.created) lines.push(flags.regenerate ? 'A new CA was generated: trust it again in your clients.' : 'A new CA was generated.');
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
