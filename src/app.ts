/**
 * `startLens(options)`: the composition root of a running oauth-lens —
 * CA load/create → proxy → capture callback → analyzer (the OAuth engine) → store → one log line.
 * Raw captures never enter the store: without an analyzer only `onCapture` (tests) sees them.
 */
import path from 'node:path';
import type { CapturedExchange } from './capture/types.js';
import type { Exchange, Redacted } from './model.js';
import { ExchangeStore, type StoreLimits } from './store/index.js';
import { CertificateAuthority } from './proxy/ca.js';
import { writeCaBundle } from './proxy/client-env.js';
import { LensProxy } from './proxy/lens-proxy.js';
import { createLogger, logExchange, type Logger } from './log.js';

export interface LensOptions {
  /** Bind address of the proxy (default 127.0.0.1). */
  host?: string;
  /** Proxy port (default 8080; 0 = ephemeral). */
  port?: number;
  /** Directory holding ca.pem, ca-key.pem, leaf-key.pem, ca-bundle.pem (default ./certs). */
  certsDir?: string;
  upstreamCaFiles?: string[];
  insecureUpstream?: boolean;
  upstreamTimeoutMs?: number;
  bodyLimit?: number;
  /** Ports of this instance that the proxy must refuse (the viewer/admin port). */
  extraRefusedPorts?: number[];
  storeLimits?: Partial<StoreLimits>;
  store?: ExchangeStore;
  logger?: Logger;
  /** The OAuth engine: raw capture in, redacted exchanges out. */
  analyzer?: (captured: CapturedExchange) => Redacted<Exchange>[];
  /** A client aborted its TLS handshake with the proxy (it does not trust our CA), per CONNECT target. */
  onClientTlsError?: (authority: string, nodeCode: string) => void;
  /** Raw capture hook (tests). Runs after setImmediate; a throw is counted, never propagated. */
  onCapture?: (captured: CapturedExchange) => void;
  /** Log one line per exchange (default true). */
  logExchanges?: boolean;
}

export interface Lens {
  proxyUrl: string;
  host: string;
  port: number;
  caPath: string;
  caBundlePath: string;
  caFingerprint256: string;
  store: ExchangeStore;
  proxy: LensProxy;
  logger: Logger;
  close(): Promise<void>;
}

export async function startLens(options: LensOptions = {}): Promise<Lens> {
  const logger = options.logger ?? createLogger();
  const store = options.store ?? new ExchangeStore(options.storeLimits);
  const ca = await CertificateAuthority.loadOrCreate(options.certsDir ?? path.resolve('certs'));
  if (ca.created) logger.info({ caPath: ca.paths.cert }, 'created a new local CA');
  const caBundlePath = await writeCaBundle(ca.paths.dir, ca.certPem);

  // Each consumer is isolated: a failing analyzer must not cost the log line, and the reverse.
  const safely = (stage: string, fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      logger.error({ err: errorSummary(err), stage }, `${stage} failed for one exchange`);
    }
  };
  const onCapture = (captured: CapturedExchange): void => {
    if (options.onCapture) safely('onCapture', () => options.onCapture!(captured));
    // The line holds method, host, path, status, duration and error code only (see log.ts).
    if (options.logExchanges !== false) safely('log', () => logExchange(logger, captured));
    if (options.analyzer) {
      safely('analyzer', () => {
        for (const exchange of options.analyzer!(captured)) store.upsert(exchange);
      });
    }
  };

  const proxy = await LensProxy.start({
    ca,
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 8080,
    upstreamCaFiles: options.upstreamCaFiles ?? [],
    insecureUpstream: options.insecureUpstream ?? false,
    ...(options.upstreamTimeoutMs !== undefined ? { upstreamTimeoutMs: options.upstreamTimeoutMs } : {}),
    ...(options.bodyLimit !== undefined ? { bodyLimit: options.bodyLimit } : {}),
    refusedPorts: options.extraRefusedPorts ?? [],
    onCapture,
    onCaptureError: (err) => logger.error({ err: errorSummary(err) }, 'capture subscriber failed'),
    onLibraryNoise: (level, text) => logger.debug({ level }, `http-mitm-proxy: ${text}`),
    onClientTlsError: (target, code) => {
      logger.warn({ target, code }, `client TLS handshake for ${target} failed (${code}): does the client trust ${ca.paths.cert}?`);
      options.onClientTlsError?.(target, code);
    },
    onLibraryCrash: (err, origin, contained) => (contained
      ? logger.warn({ err: errorSummary(err), origin }, 'contained an error thrown inside http-mitm-proxy')
      : logger.fatal({ err: errorSummary(err), origin }, 'unexpected error; exiting')),
  });
  if (options.insecureUpstream) logger.warn('upstream certificates are NOT verified (--insecure-upstream)');

  return {
    proxyUrl: proxy.url,
    host: proxy.host,
    port: proxy.port,
    caPath: ca.paths.cert,
    caBundlePath,
    caFingerprint256: ca.fingerprint256,
    store,
    proxy,
    logger,
    close: () => proxy.close(),
  };
}

/** Name and code only: messages and stacks may quote request data. */
function errorSummary(err: unknown): { name: string; code?: string } {
  const e = err as NodeJS.ErrnoException;
  return { name: e?.name ?? typeof err, ...(typeof e?.code === 'string' ? { code: e.code } : {}) };
}
