/**
 * `oauth-lens watch`: the terminal viewer on the live feed. Finds the instance from --url/--token,
 * OAUTH_LENS_TOKEN, or the state file `start` writes; keeps reconnecting when the proxy restarts.
 */
import type { Command } from 'commander';
import { readStateFile } from '../server/state-file.js';
import { TerminalFeedClient, type FeedTarget, type WatchState } from '../viewer/terminal/feed-client.js';
import { shouldUseColor } from '../viewer/terminal/format.js';
import { WatchPrinter } from '../viewer/terminal/printer.js';

interface WatchOptions {
  url?: string;
  token?: string;
  findingsOnly?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('watch')
    .description('live terminal view of captured exchanges and their findings')
    .option('--url <url>', 'admin URL of a running instance (default: from the state file written by start)')
    .option('--token <token>', 'admin token (default: OAUTH_LENS_TOKEN, the ?token= of --url, or the state file)')
    .option('--findings-only', 'only exchanges that have findings')
    .option('--json', 'print NDJSON, one exchange summary per line (for jq)')
    .action((options: WatchOptions) => runWatch(options));
}

export function runWatch(options: WatchOptions): Promise<void> {
  const stdout = process.stdout;
  const printer = new WatchPrinter({
    json: Boolean(options.json),
    findingsOnly: Boolean(options.findingsOnly),
    style: { color: !options.json && shouldUseColor(stdout), columns: stdout.columns || 120 },
    out: (text) => { stdout.write(text); },
    err: (text) => { process.stderr.write(text); },
  });
  const client = new TerminalFeedClient({
    resolveTarget: () => resolveTarget(options),
    onMessage: (message) => printer.handle(message),
    onState: (state) => process.stderr.write(describeState(state)),
  });
  client.start();
  return new Promise((resolve) => {
    const stop = () => {
      client.stop();
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

/** Explicit flags win; otherwise the state file is read again on every attempt (a restart changes the token). */
export function resolveTarget(options: WatchOptions, env: NodeJS.ProcessEnv = process.env): FeedTarget | undefined {
  const state = options.url && (options.token || env.OAUTH_LENS_TOKEN) ? undefined : readStateFile();
  const rawUrl = options.url ?? state?.uiUrl;
  if (!rawUrl) return undefined;
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return undefined;
  }
  const token = options.token || env.OAUTH_LENS_TOKEN || url.searchParams.get('token') || state?.token;
  if (!token) return undefined;
  return { url: url.origin, token };
}

function describeState(state: WatchState): string {
  switch (state.state) {
    case 'connected':
      return `watching ${state.url} (Ctrl-C to stop)\n`;
    case 'disconnected':
      return `disconnected: ${state.reason}; retrying in ${(state.retryInMs / 1000).toFixed(1)} s\n`;
    case 'no-target':
      return state.retryInMs <= 250
        ? 'no running oauth-lens found (start it with `oauth-lens start`, or pass --url and --token); waiting…\n'
        : '';
  }
}
