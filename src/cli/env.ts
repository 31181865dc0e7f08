/** `oauth-lens env`: the exports that point a process at the proxy and make it trust our CA. */
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { CertificateAuthority } from '../proxy/ca.js';
import { clientEnv, formatEnv, writeCaBundle, SHELLS, type Shell } from '../proxy/client-env.js';
import { parsePort } from './start.js';

interface EnvFlags {
  shell: Shell;
  host: string;
  port: number;
  uiPort: number;
  certs: string;
  bypass: string[];
}

function parseShell(value: string): Shell {
  if (!(SHELLS as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${SHELLS.join(', ')}`);
  return value as Shell;
}

export function register(program: Command): void {
  program
    .command('env')
    .description('print the environment that sends a process through the proxy and trusts its CA')
    .option('--shell <shell>', 'sh | fish | powershell', parseShell, 'sh')
    .option('--host <address>', 'proxy address', '127.0.0.1')
    .option('--port <port>', 'proxy port', parsePort, 8080)
    .option('--ui-port <port>', 'viewer port (kept out of the proxy via NO_PROXY)', parsePort, 8081)
    .option('--certs <dir>', 'where the local CA lives', './certs')
    .option('--bypass <host>', 'extra NO_PROXY entry; repeatable', (v: string, p: string[]) => [...p, v], [])
    .action(async (flags: EnvFlags) => {
      // The CA (and bundle) must exist for the paths printed to work, even before the first `start`.
      const ca = await CertificateAuthority.loadOrCreate(path.resolve(flags.certs));
      const bundlePath = await writeCaBundle(ca.paths.dir, ca.certPem);
      const host = flags.host.includes(':') ? `[${flags.host}]` : flags.host;
      const env = clientEnv({
        proxyUrl: `http://${host}:${flags.port}`,
        caPath: ca.paths.cert,
        bundlePath,
        ...(flags.uiPort > 0 ? { uiPort: flags.uiPort } : {}),
        noProxy: flags.bypass,
      });
      process.stdout.write(formatEnv(env, flags.shell));
    });
}
