/**
 * The pino logger (pretty on a TTY, JSON otherwise) and the one structured line per exchange:
 * method, host, path WITHOUT query, status, duration, error code — never bodies, query strings or headers.
 * The `redact` paths are only a backstop; nothing secret should be handed to the logger in the first place.
 */
import pino, { type Logger, type DestinationStream } from 'pino';
import { createRequire } from 'node:module';
import type PinoPretty from 'pino-pretty';
import { BatchedDestination } from './log-batch.js';

export type { Logger };

/** Lower-case structured fields that must never be printed (pino redact is case-sensitive). */
export const REDACT_PATHS = [
  'authorization', 'cookie', 'password', 'token', 'secret',
  'headers.authorization', 'headers.cookie', 'headers["set-cookie"]', 'headers["proxy-authorization"]',
  'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]',
  '*.client_secret', '*.access_token', '*.refresh_token', '*.id_token', '*.code', '*.code_verifier',
  '*.client_assertion', '*.password', '*.body', '*.query',
];

export interface LoggerOptions {
  level?: string;
  /** Pretty output (default: when the destination is a TTY). */
  pretty?: boolean;
  /** Where lines go (default stdout). */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const base = {
    level: options.level ?? process.env.OAUTH_LENS_LOG_LEVEL ?? 'info',
    base: undefined,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  const usePretty = options.pretty ?? (options.destination === undefined && process.stdout.isTTY === true);
  if (usePretty) {
    // In-process pretty stream (no worker thread): one process, ordered output.
    // Loaded only for a TTY: it pulls in several modules a headless proxy does not need.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
    const stream = pretty({ colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'id', singleLine: true, destination: 1 });
    return pino(base, stream);
  }
  if (options.destination) return pino(base, options.destination);
  // stdout: lines are batched (at most 20 ms late), one synchronous write per batch; exit flushes the rest.
  const batched = new BatchedDestination(pino.destination({ dest: 1, sync: true }));
  batched.flushOnExit();
  return pino(base, batched);
}

/** The minimum both a raw capture and a redacted Exchange carry. */
export interface LoggableExchange {
  id: string;
  timings: { start: number; end?: number };
  request: { method: string; url: string };
  response?: { status: number };
  error?: { code: string };
}

export interface ExchangeLine {
  id: string;
  method: string;
  host: string;
  path: string;
  status?: number;
  durationMs?: number;
  error?: string;
}

/** Fields of the per-exchange log line; the URL is reduced to host and path, the query dropped. */
export function exchangeLine(exchange: LoggableExchange): ExchangeLine {
  const { host, path } = hostAndPath(exchange.request.url);
  const line: ExchangeLine = { id: exchange.id, method: exchange.request.method, host, path };
  if (exchange.response) line.status = exchange.response.status;
  if (exchange.timings.end !== undefined) line.durationMs = Math.round((exchange.timings.end - exchange.timings.start) * 10) / 10;
  if (exchange.error) line.error = exchange.error.code;
  return line;
}

/**
 * The exchange line's own logger: its fields are fixed and safe by construction (see exchangeLine), so it
 * keeps only the top-level backstop paths. pino's wildcard paths cost ~14 µs and ~28 KiB of garbage per
 * line, on the hottest path of the proxy; top-level ones cost nothing measurable.
 */
const lineLoggers = new WeakMap<Logger, Logger>();
const TOP_LEVEL_PATHS = REDACT_PATHS.filter((p) => !/[.[*]/.test(p));

function lineLogger(logger: Logger): Logger {
  let child = lineLoggers.get(logger);
  if (!child) {
    child = logger.child({}, { redact: { paths: TOP_LEVEL_PATHS, censor: '[redacted]' } });
    lineLoggers.set(logger, child);
  }
  return child;
}

export function logExchange(logger: Logger, exchange: LoggableExchange): void {
  const line = exchangeLine(exchange);
  const summary = `${line.method} ${line.host}${line.path} ${line.status ?? line.error ?? '-'}${line.durationMs !== undefined ? ` ${line.durationMs}ms` : ''}`;
  const out = lineLogger(logger);
  if (line.error || (line.status ?? 0) >= 500) out.warn(line, summary);
  else out.info(line, summary);
}

function hostAndPath(url: string): { host: string; path: string } {
  try {
    const parsed = new URL(url);
    return { host: parsed.host, path: safePath(parsed.pathname) };
  } catch {
    // CONNECT targets and odd request-targets: keep the authority only, cut anything after ? or #.
    const cut = url.split(/[?#]/, 1)[0] ?? '';
    return /^[^/@]+$/.test(cut) ? { host: cut, path: '' } : { host: '', path: safePath(cut.replace(/^[^/]*@/, '').slice(0, 200)) };
  }
}

/**
 * The path as the log may show it: `;params` (jsessionid=…) dropped, and long segments — reset links,
 * webhook secrets, tokens carried in the path — shown as `*`, since this line is built before redaction.
 */
function safePath(path: string): string {
  return path.split('/').map((segment) => {
    const bare = segment.split(';', 1)[0] ?? '';
    return bare.length >= 24 ? '*' : bare;
  }).join('/');
}
