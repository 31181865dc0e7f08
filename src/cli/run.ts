/**
 * `oauth-lens run [options] -- <command> [args…]`: start a lens (or attach to a running one),
 * run the command with everything set so its traffic is captured (Node 20 fetch included),
 * forward signals, print a summary of flows and findings, and exit with the command's code.
 */
import path from 'node:path';
import type { Command } from 'commander';
import pino from 'pino';
import pretty from 'pino-pretty';
import { createLogger, type Logger } from '../log.js';
import { startSession, type Session } from '../session.js';
import { attachToRunningLens, type AttachedLens } from '../run/attach.js';
import { buildChildEnv } from '../run/child-env.js';
import { mergeUserCaFiles } from '../run/ca-merge.js';
import { runChild } from '../run/child.js';
import { formatRunSummary } from '../run/summary.js';
import { toSummary, type WireSummary } from '../server/wire.js';
import { parsePort, collect } from './options.js';

interface RunFlags {
  attach?: boolean;
  host: string;
  port: number;
  uiPort: number;
  token?: string;
  config?: string;
  certs: string;
  upstreamCa: string[];
  insecureUpstream?: boolean;
  quiet?: boolean;
  summary: boolean;
}

export function register(program: Command): void {
  program
    .command('run')
    .description('run a command with its HTTP(S) traffic captured (put the command after --)')
    .argument('<command...>', 'the command and its arguments, after --')
    .option('--attach', 'use the oauth-lens already running (from its state file) instead of starting one')
    .option('--host <address>', 'address the proxy and viewer bind', '127.0.0.1')
    .option('--port <port>', 'proxy port (0 = any free port)', parsePort, 8080)
    .option('--ui-port <port>', 'viewer / admin API port (0 = any free port)', parsePort, 8081)
    .option('--token <token>', 'admin API token (default: $OAUTH_LENS_TOKEN or random)')
    .option('--config <file>', 'config file (clients, token endpoints, thresholds)')
    .option('--certs <dir>', 'where the local CA lives', './certs')
    .option('--upstream-ca <file>', 'extra CA (PEM) to trust for upstream servers; repeatable', collect, [])
    .option('--insecure-upstream', 'do NOT verify upstream certificates (explicit opt-in)')
    .option('--quiet', 'no log line per exchange while the command runs')
    .option('--no-summary', 'do not print the summary when the command ends')
    .action(async (commandLine: string[], flags: RunFlags) => {
      const code = await runCommand(commandLine, flags);
      process.exit(code);
    });
}

async function runCommand(commandLine: string[], flags: RunFlags): Promise<number> {
  const [command, ...args] = commandLine;
  if (!command) throw new Error('nothing to run: put the command after --, e.g. oauth-lens run -- npm start');
  const logger = stderrLogger(flags.quiet === true);
  const startedAt = Date.now();
  const target = flags.attach ? await attach(flags) : await ownSession(flags, logger);

  const { env, warnings } = buildChildEnv({
    base: process.env,
    proxyUrl: target.proxyUrl,
    caPath: target.caPath,
    bundlePath: target.bundlePath,
    ...(target.uiPort ? { uiPort: target.uiPort } : {}),
  });
  const userCas = mergeUserCaFiles(process.env, target);
  Object.assign(env, userCas.env);
  for (const note of userCas.notes) process.stderr.write(`oauth-lens: ${note}\n`);
  for (const warning of warnings) process.stderr.write(`oauth-lens: warning: ${warning}\n`);
  process.stderr.write(`oauth-lens: capturing "${displayCommand(commandLine)}" through ${target.proxyUrl}` +
    `${target.viewerUrl ? `\noauth-lens: viewer ${target.viewerUrl}` : ''}\n`);

  const result = await runChild({ command, args, env }).finally(() => userCas.cleanup());
  if (result.spawnError) process.stderr.write(`oauth-lens: ${result.spawnError.message}\n`);
  try {
    if (flags.summary) {
      const summaries = await target.summaries(startedAt);
      process.stderr.write(formatRunSummary(summaries, {
        color: process.stderr.isTTY === true && !process.env.NO_COLOR,
        ...(flags.attach && target.viewerUrl ? { viewerHint: target.viewerUrl } : {}),
      }));
    }
  } catch (err) {
    process.stderr.write(`oauth-lens: no summary (${(err as Error).message})\n`);
  } finally {
    await target.close();
  }
  return result.exitCode;
}

interface RunTarget {
  proxyUrl: string;
  caPath: string;
  bundlePath: string;
  uiPort?: number;
  viewerUrl?: string;
  summaries(since: number): Promise<WireSummary[]>;
  close(): Promise<void>;
}

async function attach(flags: RunFlags): Promise<RunTarget> {
  const lens: AttachedLens = await attachToRunningLens({
    certsDir: path.resolve(flags.certs),
    ...(flags.token ? { token: flags.token } : {}),
  });
  return {
    proxyUrl: lens.proxyUrl,
    caPath: lens.caPath,
    bundlePath: lens.bundlePath,
    ...(lens.uiPort ? { uiPort: lens.uiPort } : {}),
    viewerUrl: lens.uiUrl,
    summaries: async (since) => {
      await delay(300); // the lens analyses after the response; give the last exchange a moment
      return lens.listSummaries(since);
    },
    close: async () => {},
  };
}

async function ownSession(flags: RunFlags, logger: Logger): Promise<RunTarget> {
  let session: Session;
  try {
    session = await startSession({
      host: flags.host,
      port: flags.port,
      uiPort: flags.uiPort,
      certsDir: flags.certs,
      ...(flags.token || process.env.OAUTH_LENS_TOKEN ? { token: flags.token ?? process.env.OAUTH_LENS_TOKEN } : {}),
      ...(flags.config ? { configFile: path.resolve(flags.config) } : {}),
      upstreamCaFiles: flags.upstreamCa.map((file) => path.resolve(file)),
      insecureUpstream: flags.insecureUpstream === true,
      logger,
      logExchanges: flags.quiet !== true,
      publishState: true,
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (/PORT_IN_USE|EADDRINUSE/.test(code) || /in use/i.test((err as Error).message)) {
      throw new Error(`${(err as Error).message}\n  Is "oauth-lens start" already running? Use --attach, or --port 0 --ui-port 0 for free ports.`);
    }
    throw err;
  }
  return {
    proxyUrl: session.lens.proxyUrl,
    caPath: session.lens.caPath,
    bundlePath: session.lens.caBundlePath,
    ...(session.admin ? { uiPort: session.admin.port } : {}),
    ...(session.viewerUrl ? { viewerUrl: session.viewerUrl } : {}),
    summaries: async (since) => {
      await settle(session);
      return session.lens.store.list().filter((e) => e.timings.start >= since).map(toSummary);
    },
    close: () => session.close(),
  };
}

/** Waits until the store has been quiet for 150 ms (at most 1.5 s): the last captures are analysed after the response. */
async function settle(session: Session): Promise<void> {
  let last = Date.now();
  const off = session.lens.store.on('exchange', () => {
    last = Date.now();
  });
  const deadline = Date.now() + 1500;
  while (Date.now() - last < 150 && Date.now() < deadline) await delay(50);
  off();
}

/** The command as one short line (scripts passed with -e can be long and multi-line). */
function displayCommand(commandLine: string[]): string {
  const text = commandLine.join(' ').replace(/\s+/g, ' ').trim();
  return text.length > 100 ? `${text.slice(0, 99)}…` : text;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Lens logs go to stderr so the command's stdout stays its own. */
function stderrLogger(quiet: boolean): Logger {
  const level = process.env.OAUTH_LENS_LOG_LEVEL ?? (quiet ? 'warn' : 'info');
  if (process.stderr.isTTY) {
    const stream = pretty({ colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'id', singleLine: true, destination: 2 });
    return createLogger({ level, pretty: false, destination: stream });
  }
  return createLogger({ level, pretty: false, destination: pino.destination({ dest: 2, sync: true }) });
}
