/**
 * `npm run demo`: oauth-lens + the demo IdP + the demo backend, all on loopback, until Ctrl-C.
 *   node dist/demo/main.js            everything in one terminal (the default)
 *   node dist/demo/main.js idp --out DIR   only the IdP, writing idp.json + idp-ca.pem to DIR (docker-compose)
 * The backend is started exactly like `oauth-lens run` starts a command (same environment and
 * Node preload), so the demo exercises the real capture path, not a shortcut.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { startIdp, type StartedIdp } from './idp.js';
import type { DemoIdpInfo } from './scenarios.js';
import { startSession, type Session } from '../session.js';
import { buildChildEnv } from '../run/child-env.js';
import { createLogger } from '../log.js';
import type { Exchange, Redacted } from '../model.js';
import { parsePort } from '../cli/options.js';

const BACKEND_SCRIPT = fileURLToPath(new URL('./backend.js', import.meta.url));
const REDIRECT_URI = 'http://localhost:3000/callback';
/** The demo's config file: default thresholds, ready for `clients` entries. */
const DEMO_CONFIG = fileURLToPath(new URL('../../demo/oauth-lens.demo.json', import.meta.url));

/** What the backend needs to log in; secrets included, so the file is 0600 in a 0700 directory. */
export function writeIdpInfo(idp: StartedIdp, dir: string): { infoPath: string; caPath: string } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const info: DemoIdpInfo = {
    issuer: idp.issuer,
    confidential: { clientId: idp.clients.confidential.clientId, clientSecret: idp.clients.confidential.clientSecret!, redirectUri: REDIRECT_URI },
    machine: { clientId: idp.clients.machine.clientId, clientSecret: idp.clients.machine.clientSecret! },
  };
  const infoPath = path.join(dir, 'idp.json');
  const caPath = path.join(dir, 'idp-ca.pem');
  writeFileSync(infoPath, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  chmodSync(infoPath, 0o600);
  writeFileSync(caPath, idp.caPem, { mode: 0o644 });
  return { infoPath, caPath };
}

interface DemoFlags {
  config: string;
  port: number;
  uiPort: number;
  certs: string;
  backendPort: number;
}

async function runAll(flags: DemoFlags): Promise<void> {
  // A calm terminal: backend lines and finding lines; `oauth-lens watch` or the viewer show every exchange.
  const logger = createLogger({ level: process.env.OAUTH_LENS_LOG_LEVEL ?? 'warn' });
  const work = mkdtempSync(path.join(tmpdir(), 'oauth-lens-demo-'));
  const idp = await startIdp({ faultHeader: true, redirectUris: [REDIRECT_URI], onError: (m) => logger.warn(m) });
  const { infoPath, caPath } = writeIdpInfo(idp, work);
  const session = await startWithFallback(flags, caPath, logger);
  const ownsState = session.statePublished;
  printFindings(session);

  const { env } = buildChildEnv({
    base: process.env,
    proxyUrl: session.lens.proxyUrl,
    caPath: session.lens.caPath,
    bundlePath: session.lens.caBundlePath,
    ...(session.admin ? { uiPort: session.admin.port } : {}),
  });
  const backend = spawn(process.execPath, [BACKEND_SCRIPT], {
    stdio: 'inherit',
    env: { ...env, DEMO_IDP_INFO: infoPath, BACKEND_PORT: String(flags.backendPort) },
  });
  process.stdout.write([
    '',
    'oauth-lens demo is running',
    `  viewer:   ${session.viewerUrl ?? '(admin server off)'}`,
    `  terminal: oauth-lens watch${ownsState ? '' : ` --url ${session.admin?.url ?? ''} --token ${session.admin?.token ?? ''}`}`,
    `  proxy:    ${session.lens.proxyUrl}   demo IdP: ${idp.issuer}`,
    '  backend:  see "demo backend │ listening on …" (open it to rerun any scenario)',
    '  Ctrl-C stops everything.',
    '',
  ].join('\n') + '\n');

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(code), 5000).unref(); // never hang on shutdown
    await stopChild(backend);
    await session.close();
    await idp.close();
    rmSync(work, { recursive: true, force: true });
    process.stdout.write('oauth-lens demo stopped\n');
    process.exit(code);
  };
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));
  backend.once('exit', (code) => {
    if (!stopping) {
      process.stderr.write(`demo backend exited (${code}); stopping the demo\n`);
      void stop(code ? 1 : 0);
    }
  });
}

/** The usual ports when free (a bookmarkable viewer), any free port otherwise. */
async function startWithFallback(flags: DemoFlags, idpCa: string, logger: ReturnType<typeof createLogger>): Promise<Session> {
  const options = {
    certsDir: flags.certs, upstreamCaFiles: [idpCa], logger, configFile: path.resolve(flags.config), logExchanges: false, publishState: true,
  };
  try {
    return await startSession({ ...options, port: flags.port, uiPort: flags.uiPort });
  } catch (err) {
    if (flags.port === 0 && flags.uiPort === 0) throw err;
    logger.warn(`port ${flags.port} or ${flags.uiPort} is busy (${(err as Error).message}); using free ports`);
    return startSession({ ...options, port: 0, uiPort: 0 });
  }
}

/** One terminal line per finding as it appears: the demo's built-in terminal view. */
function printFindings(session: Session): void {
  const shown = new Set<string>();
  session.lens.store.on('exchange', (exchange: Redacted<Exchange>) => {
    for (const finding of exchange.oauth.findings) {
      const key = `${exchange.id}:${finding.code}`;
      if (shown.has(key) || !finding.primary) continue;
      shown.add(key);
      const url = new URL(exchange.request.url);
      const icon = finding.severity === 'error' ? '✖' : finding.severity === 'warning' ? '▲' : '•';
      process.stdout.write(`finding  ${icon} ${finding.code}  ${finding.title}  (${exchange.request.method} ${url.host}${url.pathname} → ${exchange.response?.status ?? exchange.error?.code ?? '?'})\n`);
    }
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** docker-compose: the IdP alone, reachable as https://<public host>:<port> from the other containers. */
async function runIdpOnly(options: { host: string; port: number; publicHost: string; out: string }): Promise<void> {
  const idp = await startIdp({
    host: options.host,
    port: options.port,
    publicHost: options.publicHost,
    hostnames: [options.publicHost],
    faultHeader: true,
    redirectUris: [REDIRECT_URI],
  });
  const { infoPath } = writeIdpInfo(idp, options.out);
  process.stdout.write(`demo IdP ${idp.issuer} (listening on ${options.host}:${idp.port}); wrote ${infoPath}\n`);
  const stop = () => void idp.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

const program = new Command().name('oauth-lens-demo');
program
  .command('all', { isDefault: true })
  .description('oauth-lens, the demo IdP and the demo backend in one process tree')
  .option('--port <port>', 'proxy port', parsePort, 8080)
  .option('--ui-port <port>', 'viewer port', parsePort, 8081)
  .option('--config <file>', 'oauth-lens config file', DEMO_CONFIG)
  .option('--certs <dir>', 'where the local CA lives', './certs')
  .option('--backend-port <port>', 'demo backend port', parsePort, 3000)
  .action((flags: DemoFlags) => runAll(flags));
program
  .command('idp')
  .description('only the demo IdP (docker-compose)')
  .option('--host <address>', 'listen address (0.0.0.0 inside a container)', '127.0.0.1')
  .option('--port <port>', 'listen port', parsePort, 8443)
  .option('--public-host <name>', 'host name in the issuer URL and certificate', 'idp')
  .requiredOption('--out <dir>', 'directory for idp.json and idp-ca.pem (a shared volume)')
  .action((flags: { host: string; port: number; publicHost: string; out: string }) => runIdpOnly(flags));

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`oauth-lens demo: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
