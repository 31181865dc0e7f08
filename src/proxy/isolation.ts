/**
 * Process-level isolation of http-mitm-proxy, which (a) writes to the console itself and (b) has known
 * paths that throw uncaught (ERR_HTTP_HEADERS_SENT after a late upstream response, ERR_HTTP_TRAILER_INVALID).
 * Both patches are reference-counted and undone when the last proxy closes; only calls and errors that come
 * from the library are affected.
 */
const LIBRARY_MARK = `${'/'}node_modules/http-mitm-proxy/`;
const CONSOLE_METHODS = ['log', 'info', 'debug', 'warn', 'error', 'trace'] as const;
type ConsoleMethod = (typeof CONSOLE_METHODS)[number];

export type LibraryNoise = (level: ConsoleMethod, text: string) => void;

let consoleUsers = 0;
let originals: Partial<Record<ConsoleMethod, (...args: unknown[]) => void>> = {};
const noiseSinks = new Set<LibraryNoise>();

function fromLibrary(): boolean {
  const stack = new Error().stack ?? '';
  return stack.includes(LIBRARY_MARK) || stack.includes('\\node_modules\\http-mitm-proxy\\');
}

/** Route the library's console output to `sink` (e.g. the debug logger) instead of stdout/stderr. */
export function isolateLibraryConsole(sink: LibraryNoise): () => void {
  noiseSinks.add(sink);
  if (consoleUsers++ === 0) {
    originals = {};
    for (const method of CONSOLE_METHODS) {
      const original = console[method].bind(console) as (...args: unknown[]) => void;
      originals[method] = original;
      console[method] = (...args: unknown[]) => {
        if (!fromLibrary()) return original(...args);
        const text = args.map((a) => (a instanceof Error ? `${a.name}: ${(a as NodeJS.ErrnoException).code ?? ''}` : String(a))).join(' ');
        for (const s of noiseSinks) {
          try {
            s(method, text.slice(0, 200));
          } catch {
            // a broken sink must not turn library noise into a crash
          }
        }
      };
    }
  }
  let undone = false;
  return () => {
    if (undone) return;
    undone = true;
    noiseSinks.delete(sink);
    if (--consoleUsers === 0) {
      for (const method of CONSOLE_METHODS) if (originals[method]) console[method] = originals[method]!;
      originals = {};
    }
  };
}

/** Error codes the library is known to throw uncaught from inside its own callbacks. */
const KNOWN_LIBRARY_CODES = new Set([
  'ERR_HTTP_HEADERS_SENT', 'ERR_HTTP_TRAILER_INVALID', 'ERR_STREAM_WRITE_AFTER_END', 'ERR_STREAM_DESTROYED',
  'ECONNRESET', 'EPIPE', 'ERR_HTTP_INVALID_HEADER_VALUE',
]);

export function isKnownLibraryCrash(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException | undefined;
  if (!e || typeof e !== 'object') return false;
  return KNOWN_LIBRARY_CODES.has(e.code ?? '') && (e.stack ?? '').includes('http-mitm-proxy');
}

/** `contained` is true for the library's known errors (process kept alive), false for a fatal one. */
export type CrashReporter = (err: unknown, origin: 'uncaughtException' | 'unhandledRejection', contained: boolean) => void;

let guardUsers = 0;
const crashReporters = new Set<CrashReporter>();
function onUncaught(err: unknown): void {
  handle(err, 'uncaughtException');
}
function onRejection(reason: unknown): void {
  handle(reason, 'unhandledRejection');
}
function handle(err: unknown, origin: 'uncaughtException' | 'unhandledRejection'): void {
  if (isKnownLibraryCrash(err)) {
    report(err, origin, true);
    return;
  }
  // Not ours to swallow: when nobody else listens, behave like Node would (exit), after one log line.
  if (process.listenerCount(origin) > 1) return;
  report(err, origin, false);
  process.exitCode = 1;
  process.exit(1);
}
function report(err: unknown, origin: 'uncaughtException' | 'unhandledRejection', contained: boolean): void {
  for (const r of crashReporters) {
    try {
      r(err, origin, contained);
    } catch {
      // reporting must not throw from inside the guard
    }
  }
}

/** Keep the process alive through the library's known uncaught errors; anything else still exits. */
export function installCrashGuards(report: CrashReporter): () => void {
  crashReporters.add(report);
  if (guardUsers++ === 0) {
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onRejection);
  }
  let undone = false;
  return () => {
    if (undone) return;
    undone = true;
    crashReporters.delete(report);
    if (--guardUsers === 0) {
      process.off('uncaughtException', onUncaught);
      process.off('unhandledRejection', onRejection);
    }
  };
}
