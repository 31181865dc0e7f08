/** `oauth-lens env`: the exports that point a process at the proxy and make it trust our CA. */
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { CertificateAuthority } from '../proxy/ca.js';
import { clientEnv, formatEnv, writeCaBundle, SHELLS, type Shell } from '../proxy/client-env.js';
import { readStateFile, type LensState } from '../server/state-file.js';
import { parsePort } from './options.js';

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
    .action(async (flags: EnvFlags, command: Command) => {
      // With no location flags, describe the running instance (its real port, e.g. after --port 0).
      const explicit = ['host', 'port', 'uiPort', 'certs'].some((o) => command.getOptionValueSource(o) === 'cli');
      const running = explicit ? undefined : runningInstance();
      if (running) {
        const uiPort = Number(new URL(running.uiUrl).port) || undefined;
        process.stdout.write(formatEnv(clientEnv({
          proxyUrl: running.proxyUrl, caPath: running.caPath, bundlePath: running.caBundlePath,
          ...(uiPort ? { uiPort } : {}), noProxy: flags.bypass,
        }), flags.shell));
        return;
      }
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

/** The instance recorded by `start`, if its process is alive and it recorded its CA files. */
function runningInstance(): (LensState & { caPath: string; caBundlePath: string }) | undefined {
  const state = readStateFile();
  if (!state?.proxyUrl || !state.caPath || !state.caBundlePath || !state.pid) return undefined;
  try {
    process.kill(state.pid, 0);
  } catch {
    return undefined;
  }
  return state as LensState & { caPath: string; caBundlePath: string };
}
