/** `oauth-lens start`: run the proxy, print how to point a process at it, stop cleanly on SIGINT/SIGTERM. */
import path from 'node:path';
import type { Command } from 'commander';
import { startSession, type Session } from '../session.js';
import { createLogger } from '../log.js';
import { clientEnv, formatEnv } from '../proxy/client-env.js';
import { parsePort, parsePositive, collect } from './options.js';

export interface StartFlags {
  host: string;
  port: number;
  uiPort: number;
  certs: string;
  config?: string;
  token?: string;
  upstreamCa: string[];
  insecureUpstream?: boolean;
  upstreamTimeout?: number;
}

export function register(program: Command): void {
  program
    .command('start')
    .description('start the intercepting proxy (and the viewer)')
    .option('--host <address>', 'address to bind', '127.0.0.1')
    .option('--port <port>', 'proxy port (0 = any free port)', parsePort, 8080)
    .option('--ui-port <port>', 'viewer / admin API port', parsePort, 8081)
    .option('--certs <dir>', 'where the local CA lives', './certs')
    .option('--config <file>', 'config file (clients, token endpoints, thresholds)')
    .option('--token <token>', 'admin API token (default: $OAUTH_LENS_TOKEN or random)')
    .option('--upstream-ca <file>', 'extra CA (PEM) to trust for upstream servers; repeatable', collect, [])
    .option('--insecure-upstream', 'do NOT verify upstream certificates (explicit opt-in)')
    .option('--upstream-timeout <ms>', 'upstream inactivity timeout before a 504', parsePositive)
    .action(async (flags: StartFlags) => {
      // Handlers first: a signal during startup (CA key generation) must still exit cleanly.
      const running: { session?: Session } = {};
      stopOnSignals(running);
      const logger = createLogger();
      const token = flags.token ?? process.env.OAUTH_LENS_TOKEN;
      const session = await startSession({
        host: flags.host,
        port: flags.port,
        uiPort: flags.uiPort,
        certsDir: flags.certs,
        ...(token ? { token } : {}),
        ...(flags.config ? { configFile: path.resolve(flags.config) } : {}),
        upstreamCaFiles: flags.upstreamCa.map((f) => path.resolve(f)),
        insecureUpstream: flags.insecureUpstream === true,
        ...(flags.upstreamTimeout ? { upstreamTimeoutMs: flags.upstreamTimeout } : {}),
        logger,
        publishState: true,
      });
      running.session = session;
      process.stdout.write(banner(session));
    });
}

function banner(session: Session): string {
  const { lens, admin } = session;
  const exports = formatEnv(clientEnv({
    proxyUrl: lens.proxyUrl, caPath: lens.caPath, bundlePath: lens.caBundlePath, ...(admin ? { uiPort: admin.port } : {}),
  }));
  return [
    `oauth-lens proxy listening on ${lens.proxyUrl}`,
    `Viewer:         ${session.viewerUrl ?? '(off)'}`,
    `Admin API:      ${admin ? `${admin.url}  (token: ${admin.token})` : '(off)'}`,
    `CA certificate: ${lens.caPath}`,
    `CA SHA-256:     ${lens.caFingerprint256}`,
    '',
    'Point a process at it (paste into its shell, or: eval "$(oauth-lens env)"):',
    exports.trimEnd().split('\n').map((l) => `  ${l}`).join('\n'),
    '',
  ].join('\n') + '\n';
}

function stopOnSignals(running: { session?: Session }): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    const session = running.session;
    if (!session) process.exit(0);
    session.lens.logger.info({ signal }, 'stopping');
    // Never hang on shutdown: live upstream sockets are destroyed by close(); this is the last resort.
    setTimeout(() => process.exit(0), 3000).unref();
    session.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
