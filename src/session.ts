/**
 * The composition root of a running oauth-lens, shared by `start`, `run` and the demo:
 * proxy → OAuth engine → store → admin API/feed/viewer (+ the state file `watch`/`export` read).
 * Everything binds 127.0.0.1 unless the caller passes another host on purpose.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { startLens, type Lens } from './app.js';
import { OAuthEngine } from './oauth/engine.js';
import { loadFingerprintKey } from './oauth/fingerprint.js';
import { loadConfigFile } from './oauth/config-validate.js';
import { EMPTY_CONFIG, type LensConfig } from './oauth/config.js';
import { startAdminServer, type AdminServer } from './server/admin-server.js';
import { exchangesToHar } from './har/har.js';
import { exchangeToCurl } from './har/curl.js';
import type { Logger } from './log.js';
import { clientTlsFailureCapture } from './capture/client-tls-failure.js';
import { removeStateFile, stateFileOwnedByLiveProcess, writeStateFile } from './server/state-file.js';
import type { CapturedExchange } from './capture/types.js';
import type { Exchange, Redacted } from './model.js';
import { ExchangeStore } from './store/index.js';

export interface SessionOptions {
  host?: string;
  /** Proxy port (0 = ephemeral). */
  port: number;
  /** Admin/viewer port (0 = ephemeral); `false` runs without the admin server. */
  uiPort: number | false;
  /** Host the admin server binds (default: `host`). */
  uiHost?: string;
  certsDir: string;
  token?: string;
  configFile?: string;
  config?: LensConfig;
  upstreamCaFiles?: string[];
  insecureUpstream?: boolean;
  upstreamTimeoutMs?: number;
  logger: Logger;
  logExchanges?: boolean;
  /** Record this instance in the state file (for `watch`, `export`, `curl`, `run --attach`) unless another live instance owns it. */
  publishState?: boolean;
}

export interface Session {
  lens: Lens;
  engine: OAuthEngine;
  admin?: AdminServer;
  /** Viewer URL with the token, when the admin server runs. */
  viewerUrl?: string;
  /** True when this session wrote the state file (and removes it on close). */
  statePublished: boolean;
  close(): Promise<void>;
}

export async function startSession(options: SessionOptions): Promise<Session> {
  const certsDir = path.resolve(options.certsDir);
  const config = options.config ?? (options.configFile ? loadConfigFile(options.configFile) : EMPTY_CONFIG);
  const engine = new OAuthEngine({
    fingerprintKey: loadFingerprintKey(certsDir),
    config,
    logger: { warn: (obj, msg) => options.logger.warn(obj, msg) },
  });
  const store = new ExchangeStore();
  const analyze = (captured: CapturedExchange): Redacted<Exchange>[] => {
    const { exchange, updated } = engine.ingest(captured, store.nextSeq());
    return [exchange, ...updated];
  };
  const lens = await startLens({
    store,
    host: options.host ?? '127.0.0.1',
    port: options.port,
    certsDir,
    upstreamCaFiles: options.upstreamCaFiles ?? [],
    insecureUpstream: options.insecureUpstream ?? false,
    ...(options.upstreamTimeoutMs !== undefined ? { upstreamTimeoutMs: options.upstreamTimeoutMs } : {}),
    ...(typeof options.uiPort === 'number' && options.uiPort > 0 ? { extraRefusedPorts: [options.uiPort] } : {}),
    logger: options.logger,
    logExchanges: options.logExchanges ?? true,
    analyzer: analyze,
    // A client that refuses our CA never sends a request: record the failed handshake as an exchange (R67).
    onClientTlsError: (authority, nodeCode) => {
      for (const exchange of analyze(clientTlsFailureCapture(randomUUID(), authority, nodeCode, Date.now()))) store.upsert(exchange);
    },
  });

  let admin: AdminServer | undefined;
  if (options.uiPort !== false) {
    try {
      admin = await startAdminServer({
        store: lens.store,
        host: options.uiHost ?? options.host ?? '127.0.0.1',
        port: options.uiPort,
        ...(options.token ? { token: options.token } : {}),
        logger: options.logger,
        thresholds: { failureRateAlert: config.thresholds.failureRateAlert },
        exports: { exchangesToHar, exchangeToCurl },
      });
    } catch (err) {
      await lens.close();
      throw err;
    }
    // The proxy must never forward to our own admin port (CVE-2025-23217-style self access).
    lens.proxy.refusePort(admin.port);
  }

  const ownsStateFile = options.publishState === true && admin !== undefined && !stateFileOwnedByLiveProcess();
  if (ownsStateFile && admin) {
    writeStateFile({
      uiUrl: admin.url, token: admin.token, proxyUrl: lens.proxyUrl, pid: process.pid,
      caPath: lens.caPath, caBundlePath: lens.caBundlePath,
    });
  }

  return {
    lens,
    engine,
    ...(admin ? { admin, viewerUrl: admin.viewerUrl } : {}),
    statePublished: ownsStateFile,
    close: async () => {
      if (ownsStateFile) removeStateFile(process.pid);
      await Promise.allSettled([admin?.close(), lens.close()]);
    },
  };
}
